"""Whatever ends access (the identity, a grant, a credential, a service) revokes live tokens in the same transaction."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from inventory.lapses import lapses_review
from inventory.models import AIIdentity
from inventory.orphans import orphans_review
from inventory.services import identity_activate, identity_attest, identity_offboard, identity_reactivate, identity_suspend
from nhiportal.audit.models import AuditEvent
from nhiportal.audit.services import system_actor
from nhiportal.conf import nhi_setting
from tokens.exposures import exposure_confirm, exposure_report_token
from tokens.credentials import credential_add_jwk, credential_disable
from tokens.models import Grant, IssuedToken, Task, WorkloadCredential
from tokens.services import grant_revoke, service_update

from .conftest import Agent, new_private_key, public_jwk, token_request


def live():
    return IssuedToken.objects.filter(revoked_at__isnull=True)


def test_it_revokes_tokens_on_suspension(agent, get_token, alice):
    get_token(agent)
    identity_suspend(actor=alice, identity=agent.identity, reason="Odd traffic")
    row = IssuedToken.objects.get()
    assert row.revoked_at is not None and row.revoked_by_label == "alice"
    assert row.revoke_reason == "Identity suspended: Odd traffic"
    # Suspension keeps grants and credentials: reactivation resumes work.
    assert Grant.objects.get().revoked_at is None and WorkloadCredential.objects.get().enabled


def _suspend_by_hand(agent, alice, sam, held):
    identity_suspend(actor=alice, identity=agent.identity, reason="Odd traffic")
    return lambda: identity_reactivate(actor=alice, identity=agent.identity)


def _suspend_for_a_lapsed_attestation(agent, alice, sam, held):
    grace = nhi_setting("ATTESTATION_GRACE_DAYS")
    AIIdentity.objects.filter(pk=agent.identity.pk).update(attestation_due=timezone.localdate() - timedelta(days=grace + 1))
    assert lapses_review(actor=system_actor("tests"))["suspended"] == 1

    def reactivate():
        identity_attest(actor=alice, identity=agent.identity, note="Still needed.")
        identity_reactivate(actor=alice, identity=agent.identity)

    return reactivate


def _suspend_orphaned_past_grace(agent, alice, sam, held):
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    now = timezone.now()
    orphans_review(actor=system_actor("tests"), now=now)
    assert orphans_review(actor=system_actor("tests"), now=now + timedelta(days=nhi_setting("ORPHAN_GRACE_DAYS"), minutes=1))["suspended"] == 1

    def reactivate():
        get_user_model().objects.filter(pk=alice.pk).update(is_active=True)
        identity_reactivate(actor=alice, identity=agent.identity)

    return reactivate


def _suspend_on_a_confirmed_exposure(agent, alice, sam, held):
    exposure = exposure_report_token(actor=sam, token=held["access_token"], where_found="CI log #4411")
    exposure_confirm(actor=sam, exposure=exposure, reason="The log is public.")
    return lambda: identity_reactivate(actor=sam, identity=agent.identity)


@pytest.mark.parametrize(
    "suspend", [_suspend_by_hand, _suspend_for_a_lapsed_attestation, _suspend_orphaned_past_grace, _suspend_on_a_confirmed_exposure],
    ids=["by hand", "attestation lapsed", "orphaned past grace", "confirmed exposure"],
)
def test_suspension_ends_the_open_tasks_so_the_reactivated_agent_cannot_rejoin_them(oauth, agent, get_token, alice, sam, suspend):
    held = get_token(agent)
    reactivate = suspend(agent, alice, sam, held)

    task = Task.objects.get(pk=held["task_id"])
    assert task.ended_at is not None and task.end_reason.startswith("Identity suspended")
    event = AuditEvent.objects.filter(action="identity.suspend", identity_id=agent.identity.pk).latest("id")
    assert event.after["tasks_ended"] == 1
    reactivate()
    agent.identity.refresh_from_db()
    assert agent.identity.status == "active"

    rejoined = token_request(oauth, agent, task_id=held["task_id"], authorization_details=None)
    assert rejoined.status_code == 400 and rejoined.json()["error"] == "invalid_request"
    assert token_request(oauth, agent).status_code == 200  # a new task is the way back to work


def test_it_revokes_everything_on_offboarding(agent, get_token, alice):
    get_token(agent)
    identity_offboard(actor=alice, identity=agent.identity, reason="Project over")

    assert not live().exists()
    assert Task.objects.get().ended_at is not None
    assert Grant.objects.get().revoked_at is not None
    assert not WorkloadCredential.objects.filter(enabled=True).exists()
    # One state change, one audit event: the cascade is recorded on the rows themselves.
    assert AuditEvent.objects.filter(identity_id=agent.identity.pk, action__startswith="identity.offboard").count() == 1


def test_an_offboarded_identity_cannot_authenticate(agent, get_token, oauth, alice):
    get_token(agent)
    identity_offboard(actor=alice, identity=agent.identity, reason="Project over")
    assert token_request(oauth, agent).json()["error"] == "invalid_client"


def test_revoking_a_grant_revokes_the_tokens_that_relied_on_it(agent, get_token, crm, grant, sam):
    reads = grant(agent, crm, ["tickets:read"])
    writes = grant(agent, crm, ["tickets:write"])
    read_only = get_token(agent, scope="tickets:read")
    read_write = get_token(agent, scope="tickets:read tickets:write")

    grant_revoke(actor=sam, grant=writes, reason="No longer needed")

    assert IssuedToken.objects.get(task_id=read_write["task_id"]).revoked_at is not None
    assert IssuedToken.objects.get(task_id=read_only["task_id"]).revoked_at is None
    assert AuditEvent.objects.filter(action="grant.revoke").count() == 1
    assert reads.pk  # still live


def test_a_grant_revocation_needs_a_reason(agent, crm, grant, sam):
    g = grant(agent, crm, ["tickets:read"])
    with pytest.raises(ValidationError):
        grant_revoke(actor=sam, grant=g, reason=" ")


def test_disabling_a_credential_revokes_only_its_tokens(agent, get_token, oauth, alice):
    second_key = new_private_key()
    second = credential_add_jwk(actor=alice, identity=agent.identity, jwk=public_jwk(second_key, kid="second"))
    first_token = get_token(agent)
    rotated = Agent(identity=agent.identity, private_key=second_key, kid="second")
    second_token = token_request(oauth, rotated).json()

    credential_disable(actor=alice, credential=WorkloadCredential.objects.get(kid=agent.kid), reason="Rotated")

    assert IssuedToken.objects.get(task_id=first_token["task_id"]).revoked_at is not None
    assert IssuedToken.objects.get(task_id=second_token["task_id"]).revoked_at is None
    assert token_request(oauth, agent).status_code == 401
    assert token_request(oauth, rotated).status_code == 200
    assert second.enabled


def test_deactivating_a_service_revokes_its_tokens(agent, get_token, crm, sam):
    get_token(agent)
    service_update(actor=sam, service=crm, is_active=False)
    assert not live().exists()


def test_removing_a_scope_revokes_the_tokens_carrying_it(agent, get_token, crm, sam):
    keep = get_token(agent, scope="tickets:read")
    drop = get_token(agent, scope="tickets:write")
    service_update(actor=sam, service=crm, scopes=[{"name": "tickets:read"}, {"name": "customers:export", "consequential": True}])
    assert IssuedToken.objects.get(task_id=drop["task_id"]).revoked_at is not None
    assert IssuedToken.objects.get(task_id=keep["task_id"]).revoked_at is None


def test_removing_a_scope_takes_it_off_every_live_grant_so_adding_it_back_restores_nothing(
    oauth, make_agent, get_token, grant, crm, sam, audit_actions_during,
):
    both, writer, reader = make_agent(), make_agent(), make_agent()
    narrowed = grant(both, crm, ["tickets:read", "tickets:write"])
    emptied = grant(writer, crm, ["tickets:write"])
    untouched = grant(reader, crm, ["tickets:read"])
    held = [get_token(both, scope="tickets:write"), get_token(writer, scope="tickets:write")]
    kept = get_token(both, scope="tickets:read")
    scopes = [{"name": "tickets:read"}, {"name": "customers:export", "consequential": True}]

    _, actions = audit_actions_during(
        lambda: service_update(actor=sam, service=crm, scopes=scopes, reason="Writes move to the new helpdesk.")
    )

    assert actions == ["service.update"]
    event = AuditEvent.objects.get(action="service.update")
    assert event.reason == "Writes move to the new helpdesk."
    assert {k: event.after[k] for k in ("grants_narrowed", "grants_revoked", "tokens_revoked")} == {
        "grants_narrowed": 1, "grants_revoked": 1, "tokens_revoked": 2,
    }
    for grant_row in (narrowed, emptied, untouched):
        grant_row.refresh_from_db()
    assert narrowed.scopes == ["tickets:read"] and narrowed.revoked_at is None
    assert emptied.revoked_at is not None and emptied.scopes == ["tickets:write"]
    assert emptied.revoke_reason == "Scope tickets:write withdrawn from CRM: Writes move to the new helpdesk."
    assert untouched.scopes == ["tickets:read"] and untouched.revoked_at is None
    for token in held:
        row = IssuedToken.objects.get(task_id=token["task_id"])
        assert row.revoked_at is not None and row.revoke_reason.endswith(": Writes move to the new helpdesk.")
    assert IssuedToken.objects.get(task_id=kept["task_id"]).revoked_at is None

    service_update(actor=sam, service=crm, scopes=[*scopes, {"name": "tickets:write"}], reason="Back again.")

    narrowed.refresh_from_db()
    assert narrowed.scopes == ["tickets:read"]
    assert token_request(oauth, both, scope="tickets:write").json()["error"] == "invalid_scope"


def test_a_person_deactivating_a_service_or_removing_a_scope_says_why(crm, sam):
    with pytest.raises(ValidationError) as refused:
        service_update(actor=sam, service=crm, is_active=False, reason="  ")
    assert "reason" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        service_update(actor=sam, service=crm, scopes=[{"name": "tickets:read"}], reason="")
    assert "reason" in refused.value.message_dict
    crm.refresh_from_db()
    assert crm.is_active and crm.scopes.count() == 3
    assert service_update(actor=sam, service=crm, description="The helpdesk's CRM.", reason="").description == "The helpdesk's CRM."


def test_activation_needs_an_enabled_credential(make_identity, alice):
    from inventory.services import TransitionRefused

    identity = make_identity(alice, credential=False)
    with pytest.raises(TransitionRefused) as refused:
        identity_activate(actor=alice, identity=identity)
    assert refused.value.missing == ["a workload credential"]
    credential_add_jwk(actor=alice, identity=identity, jwk=public_jwk(new_private_key()))
    assert identity_activate(actor=alice, identity=identity).status == "active"
