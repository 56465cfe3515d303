from django.contrib.auth import get_user_model
from django.core.management import call_command

from inventory.models import AIIdentity, Status
from nhiportal.people.selectors import leaked_api_tokens
from tokens.models import (
    AccessRequest, AccessRequestState, Exposure, Grant, IssuedToken, KeyState, Service, SigningKey, Task, TrustDomain, WorkloadCredential,
)
from tokens.policy.models import PolicyVersion
from tokens.policy.services import policy_check
from tokens.selectors import access_requests_waiting_for


def test_the_demo_has_a_token_side(db):
    call_command("demo_data", "--identities", "30", verbosity=0)

    assert Service.objects.count() == 7 and TrustDomain.objects.count() == 1
    assert SigningKey.objects.filter(state=KeyState.ACTIVE).count() == 1
    active = AIIdentity.objects.filter(status=Status.ACTIVE)
    assert active.exists()
    assert not active.exclude(credentials__enabled=True).exists()
    assert Grant.objects.filter(revoked_at__isnull=True).exists() and Grant.objects.filter(revoked_at__isnull=False).exists()
    assert IssuedToken.objects.exists()
    # Its agents say how sensitive the data each task touches is, as careful agents do.
    assert Task.objects.exists() and not Task.objects.filter(sensitivity__isnull=True).exists()
    assert WorkloadCredential.objects.filter(kind="spiffe").exists()
    # A leaked token, contained, waiting for a security admin to confirm it.
    exposure = Exposure.objects.get()
    assert exposure.status == "reported" and exposure.tokens_revoked == 1
    # And a person's API token found in a CI log, revoked, for the Exposures page to list.
    assert list(leaked_api_tokens(get_user_model().objects.get(username="sam")).values_list("user__username", flat=True)) == ["bob"]
    # A stricter policy drafted from the rule library, waiting to be replayed and activated.
    draft = PolicyVersion.objects.get(is_active=False)
    assert "principal.risk_score >= 40" in draft.text and draft.note.startswith("Draft:")
    assert policy_check(text=draft.text, examples=draft.examples) == []
    call_command("audit_verify", verbosity=0)


def test_the_demo_has_access_requests_in_each_state(db):
    call_command("demo_data", "--identities", "30", verbosity=0)
    rita = get_user_model().objects.get(username="rita")

    # alice asked for her own agents, so her asking vouched and each went to the service stage.
    requests = AccessRequest.objects.all()
    assert set(requests.values_list("requested_by__username", flat=True)) == {"alice"}
    assert set(requests.values_list("owner_approved_by__username", flat=True)) == {"alice"}
    assert all(r.identity.ownerships.filter(person__username="alice").exists() and r.justification for r in requests)
    # One waits for rita: it is what her "Waiting for me" and the sidebar badge show.
    waiting = AccessRequest.objects.get(state=AccessRequestState.SERVICE_REVIEW)
    assert list(access_requests_waiting_for(rita)) == [waiting]
    assert not waiting.service.scopes.filter(name__in=waiting.scopes, consequential=True).exists()
    # One approved: its grant is live and says where it came from.
    approved = AccessRequest.objects.get(state=AccessRequestState.APPROVED)
    assert approved.decided_by == rita and approved.grant.is_live()
    assert approved.grant.scopes == approved.scopes and approved.grant.justification.startswith(f"Access request #{approved.pk}:")
    # One refused, with the reason the requester reads.
    rejected = AccessRequest.objects.get(state=AccessRequestState.REJECTED)
    assert rejected.decided_by.username == "sam" and rejected.decision_reason and rejected.grant is None
    assert rejected.service.scopes.filter(name__in=rejected.scopes, consequential=True).exists()
    # `make run` calls it again each time: nothing more is asked.
    call_command("demo_data", "--if-empty", verbosity=0)
    assert AccessRequest.objects.count() == 3
    call_command("audit_verify", verbosity=0)

