"""Each control's evidence passes on healthy data and names the identities that break it.

Where the portal itself prevents the failure (a token outliving its task, say), the test
breaks the data behind the portal's back: the evidence must notice what the services did not do.
"""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from inventory.models import AIIdentity, OwnerRole, Ownership
from inventory.campaigns import campaign_launch
from inventory.services import identity_attest, identity_suspend
from nhiportal.audit.models import AuditEvent
from nhiportal.people.models import PersonalAPIToken
from nhiportal.people.services import api_token_create
from nhiportal.sweep.models import SweepStep
from tests.policy.conftest import ALLOW_ALL, active_version, default_version
from tests.tokens.conftest import CRM, new_private_key, public_jwk, token_request
from tokens.credentials import credential_add_federated, credential_disable
from tokens.exposures import exposure_dismiss, exposure_report_token
from tokens.distrust import trust_end
from tokens.federation import federated_issuer_create
from tokens.access_requests import access_request_approve, access_request_create
from tokens.models import AccessRequest, Exposure, IssuedToken, Service, SigningKey, Task, WorkloadCredential
from tokens.revocation import task_end
from tokens.services import service_create

from .conftest import check

pytestmark = pytest.mark.django_db


def names(result) -> set:
    return {f.name for f in result.findings}


def test_an_active_identity_whose_owners_left_fails_ownership(alice, agent):
    assert check("owned").status == "pass"
    alice.is_active = False
    alice.save()
    result = check("owned")
    assert result.status == "fail" and names(result) == {agent.identity.name} and result.findings_total == 1


def test_a_draft_missing_its_offboarding_plan_needs_a_look_and_an_active_one_fails(alice, make_identity, agent):
    assert check("documented").status == "pass"
    draft = make_identity(alice, offboarding_plan="")
    result = check("documented")
    assert result.status == "warn" and names(result) == {draft.name} and "offboarding plan" in result.findings[0].detail
    AIIdentity.objects.filter(pk=agent.identity.pk).update(purpose="")
    assert check("documented").status == "fail"


def test_an_attestation_overdue_past_its_grace_fails_until_the_identity_is_suspended(agent):
    assert check("attested").status == "pass"
    AIIdentity.objects.filter(pk=agent.identity.pk).update(attestation_due=timezone.localdate() - timedelta(days=2))
    assert check("attested").status == "warn"
    AIIdentity.objects.filter(pk=agent.identity.pk).update(attestation_due=timezone.localdate() - timedelta(days=60))
    result = check("attested")
    assert result.status == "fail" and names(result) == {agent.identity.name} and "1 active past the 14 days' grace" in result.summary
    # Suspended for the lapse (suspend_unattested): still a finding, but its access is contained.
    call_command("suspend_unattested", stdout=open("/dev/null", "w"))
    result = check("attested")
    assert result.status == "warn" and names(result) == {agent.identity.name}


def test_the_latest_campaigns_answers_are_reported(agent, rita, alice):
    assert "latest campaign answered" not in check("attested").figures
    campaign_launch(actor=rita, name="Q4", due=timezone.localdate() + timedelta(days=7))
    identity_attest(actor=alice, identity=agent.identity)
    assert check("attested").figures["latest campaign answered"] == "1 of 1 (Q4)"


def test_an_active_identity_without_an_enabled_credential_fails_workload_identity(alice, agent):
    assert check("workload-identity").status == "pass"
    credential_disable(actor=alice, credential=WorkloadCredential.objects.get(identity=agent.identity), reason="rotating")
    result = check("workload-identity")
    assert result.status == "fail" and names(result) == {agent.identity.name}
    assert result.figures["static secrets"] == 0


def test_workload_identity_counts_federated_subjects_and_issuers_that_accept_a_token_again(sam, alice, make_identity):
    jwks = {"keys": [public_jwk(new_private_key(), kid="k1")]}
    issuer = federated_issuer_create(actor=sam, name="Cluster", issuer="https://k8s.example.com", jwks=jwks, max_age=900, reusable=True)
    credential_add_federated(actor=alice, identity=make_identity(alice, credential=False), federated_issuer=issuer, subject="system:serviceaccount:a:b")
    credential_add_federated(actor=alice, identity=make_identity(alice, credential=False), federated_issuer=issuer, subject="system:serviceaccount:c:*")
    figures = check("workload-identity").figures
    assert (figures["federated subjects"], figures["federated issuers accepting a token again"]) == (2, 1)
    assert figures["federated subjects ending in * (a family of jobs)"] == 1
    trust_end(actor=sam, holder=issuer, reason="Cluster breached.")
    figures = check("workload-identity").figures
    assert (figures["federated subjects"], figures["trust domains and issuers no longer trusted"]) == (0, 1)


def test_one_public_key_on_two_identities_fails_reuse(alice, make_agent, agent):
    assert check("no-reuse").status == "pass"
    other = make_agent(alice)
    # Registration refuses a key another identity holds; data from before that rule, or loaded around it, may still share.
    shared = WorkloadCredential.objects.get(identity=agent.identity)
    WorkloadCredential.objects.create(identity=other.identity, kind="jwk", kid="copied", public_jwk=shared.public_jwk, thumbprint=shared.thumbprint)
    result = check("no-reuse")
    assert result.status == "fail" and names(result) == {agent.identity.name, other.identity.name}


def test_a_token_living_past_the_ceiling_fails_short_lived_tokens(agent, get_token):
    get_token(agent, ttl="300")
    result = check("short-lived-tokens")
    assert result.status == "pass" and result.figures["issued, last 30 days"] == 1 and result.figures["longest lifetime (s)"] == 300
    token = IssuedToken.objects.get()
    IssuedToken.objects.filter(pk=token.pk).update(expires_at=token.issued_at + timedelta(hours=2))
    result = check("short-lived-tokens")
    assert result.status == "fail" and names(result) == {agent.identity.name} and "7200 s" in result.findings[0].detail


def test_policy_evidence_follows_the_active_version_and_its_mode(sam, agent, get_token):
    assert check("policy-at-issuance").status == "warn"  # no version: the shipped default decides
    version = default_version(sam)
    get_token(agent)
    result = check("policy-at-issuance")
    assert result.status == "pass" and result.figures["active version"] == version.number and result.figures["allowed"] >= 1
    version.mode = "log_only"
    version.save()
    assert check("policy-at-issuance").status == "warn"


def test_a_grant_running_beyond_a_year_needs_a_look(agent, crm, grant):
    grant(agent, crm, ["tickets:read"], days=30)
    assert check("least-privilege").status == "pass"
    grant(agent, crm, ["tickets:write"], days=400)
    result = check("least-privilege")
    assert result.status == "warn" and names(result) == {agent.identity.name} and "tickets:write" in result.findings[0].detail
    assert result.summary.startswith("1 live or scheduled grant runs more than")


def test_a_token_alive_after_its_task_ended_fails_ending_access(alice, agent, get_token):
    get_token(agent)
    task = Task.objects.get()
    task_end(task=task, actor=alice, reason="done")
    assert check("ending-access").status == "pass"
    IssuedToken.objects.update(revoked_at=None)  # as if ending the task had missed it
    result = check("ending-access")
    assert result.status == "fail" and names(result) == {agent.identity.name} and "task ended" in result.findings[0].detail


def test_an_offboarded_identity_still_holding_a_credential_fails_ending_access(alice, agent):
    identity_suspend(actor=alice, identity=agent.identity, reason="pause")
    AIIdentity.objects.filter(pk=agent.identity.pk).update(status="offboarded")
    result = check("ending-access")
    assert result.status == "fail" and "still holds" in result.findings[0].detail


def test_consequential_work_without_approval_fails_and_approved_work_passes(sam, rita, alice, make_agent, crm, grant, oauth):
    active_version(sam, ALLOW_ALL)  # a policy that forgets to ask for a person
    bot = make_agent(alice, autonomy="autonomous", name="exporter")
    grant(bot, crm, ["customers:export"])
    assert token_request(oauth, bot, scope="customers:export").status_code == 200
    result = check("human-approval")
    assert result.status == "fail" and names(result) == {"exporter"} and "customers:export" in result.findings[0].detail
    Task.objects.update(approved_by=rita, approval_expires_at=timezone.now() + timedelta(hours=1))
    assert check("human-approval").status == "pass"


def test_an_owner_approving_their_own_agent_fails_separation_of_duties(alice, rita, agent, get_token):
    get_token(agent)
    # Only a task that asked for a person is approved (tokens/approvals.py).
    Task.objects.update(requires_approval=True, approved_by=rita)
    assert check("separation-of-duties").status == "pass"
    Task.objects.update(approved_by=alice)
    result = check("separation-of-duties")
    assert result.status == "fail" and "alice" in result.findings[0].detail


def test_an_approver_who_became_an_owner_later_does_not_fail_separation_of_duties(alice, rita, agent, get_token):
    get_token(agent)
    Task.objects.update(requires_approval=True, approved_by=rita, approved_at=timezone.now())
    # rita takes the agent over an hour later (a claim, a handover): her approval was a second party's.
    Ownership.objects.create(identity=agent.identity, person=rita, role=OwnerRole.BACKUP, since=timezone.now() + timedelta(hours=1))
    assert check("separation-of-duties").status == "pass"
    Task.objects.update(approved_at=timezone.now() + timedelta(hours=2))  # approved once she owned it
    result = check("separation-of-duties")
    assert result.status == "fail" and "rita" in result.findings[0].detail


def test_an_access_request_granted_by_an_owner_fails_separation_of_duties(alice, bob, rita, make_agent, crm):
    shared = make_agent(alice, backups=[bob])
    request = access_request_create(
        actor=alice, identity=shared.identity, service=crm, scopes=["tickets:read"],
        ends_at=timezone.now() + timedelta(days=7), justification="Drafts replies.",
    )
    access_request_approve(actor=rita, access_request=request)
    result = check("separation-of-duties")
    assert result.status == "pass" and result.figures["granted access requests"] == 1
    AccessRequest.objects.update(decided_by=bob, decided_by_label="bob")  # the portal refuses this; the data says it anyway
    result = check("separation-of-duties")
    assert result.status == "fail" and names(result) == {shared.identity.name} and "granted by bob" in result.findings[0].detail
    # Had bob become an owner only after deciding (by a claim, say), the decision was a second party's.
    Ownership.objects.filter(person=bob).update(since=timezone.now() + timedelta(minutes=1))
    assert check("separation-of-duties").status == "pass"


def test_an_exposure_left_untriaged_for_a_day_needs_a_look_until_it_is_dismissed(charlie, sam, agent, get_token):
    exposure_report_token(actor=charlie, token=get_token(agent)["access_token"], where_found="wiki")
    result = check("exposure-response")
    assert result.status == "pass" and result.figures["exposures, last 90 days"] == 1 and result.figures["tokens revoked"] == 1
    Exposure.objects.update(contained_at=timezone.now() - timedelta(hours=30), seen_at=timezone.now() - timedelta(hours=31))
    result = check("exposure-response")
    assert result.status == "warn" and {"neither confirmed nor dismissed, identity still active" in f.detail for f in result.findings} == {True, False}
    Exposure.objects.update(told_at=timezone.now())
    exposure_dismiss(actor=sam, exposure=Exposure.objects.get(), reason="A sandbox token.")
    result = check("exposure-response")
    assert result.status == "pass" and result.figures["dismissed"] == 1


def test_an_edited_audit_event_fails_audit_integrity(agent):
    assert check("audit-integrity").status == "pass"
    event = AuditEvent.objects.order_by("-id").first()
    AuditEvent.objects.filter(pk=event.pk).update(reason="quietly edited")
    result = check("audit-integrity")
    assert result.status == "fail" and f"event {event.pk}" in result.summary


def test_a_key_older_than_the_sweep_would_let_it_be_needs_rotating(agent, get_token, settings):
    assert check("signing-keys").status == "warn"  # none yet: the first token creates one
    get_token(agent)
    result = check("signing-keys")
    assert result.status == "pass" and result.summary.endswith("the active key is less than a day old.")
    limit = settings.NHI["SIGNING_KEY_MAX_AGE_DAYS"] + 1  # the sweep rotates hourly past the setting
    SigningKey.objects.filter(state="active").update(activated_at=timezone.now() - timedelta(days=limit, hours=12))
    assert check("signing-keys").status == "pass"
    SigningKey.objects.filter(state="active").update(activated_at=timezone.now() - timedelta(days=limit + 1))
    result = check("signing-keys")
    assert result.status == "warn" and result.summary.endswith(f"the active key is {limit + 1} days old.")


def test_a_production_agent_with_a_staging_token_fails_environment_isolation(sam, agent, grant, oauth):
    active_version(sam, ALLOW_ALL)
    staging = service_create(actor=sam, name="CRM staging", audience=CRM, owner=sam, environment="staging", scopes=["tickets:read"])
    grant(agent, staging, ["tickets:read"])
    assert token_request(oauth, agent).status_code == 200
    result = check("environment-isolation")
    assert result.status == "fail" and names(result) == {agent.identity.name} and "CRM staging" in result.findings[0].detail


def test_governance_sweep_fails_until_the_sweep_runs_then_passes(alice, make_identity):
    make_identity(alice)  # something to govern: on an empty portal a sweep never run is no evidence yet
    result = check("governance-sweep")
    assert result.status == "fail" and "never run" in result.summary
    assert {"suspend_unattested", "compliance_snapshot"} <= names(result)
    call_command("governance_sweep", stdout=open("/dev/null", "w"))
    result = check("governance-sweep")
    assert result.status == "pass" and result.findings_total == 0


def test_governance_sweep_warns_of_a_failed_notice_and_fails_when_suspensions_stall(alice, make_identity):
    make_identity(alice)
    call_command("governance_sweep", stdout=open("/dev/null", "w"))
    SweepStep.objects.filter(name="notify_claims").update(succeeded=False)
    result = check("governance-sweep")
    assert result.status == "warn" and names(result) == {"notify_claims"}
    long_ago = timezone.now() - timedelta(days=2)
    SweepStep.objects.filter(name="suspend_orphans").update(last_success_at=long_ago, slot_at=long_ago, finished_at=long_ago)
    result = check("governance-sweep")
    assert result.status == "fail" and names(result) == {"notify_claims", "suspend_orphans"}
    assert "last succeeded" in {f.name: f.detail for f in result.findings}["suspend_orphans"]


def test_a_grant_with_a_scope_no_token_carried_for_the_window_needs_a_look(agent, crm, grant, oauth):
    grant(agent, crm, ["tickets:read", "tickets:write"], starts_at=timezone.now() - timedelta(days=40))
    grant(agent, crm, ["tickets:write"])  # granted today: too young to judge
    assert token_request(oauth, agent, scope="tickets:read").status_code == 200
    assert check("unused-access").figures["not checked yet (grant_usage runs hourly)"] == 2
    call_command("grant_usage", stdout=io.StringIO())
    result = check("unused-access")
    assert result.status == "warn" and names(result) == {agent.identity.name}
    assert "not checked yet (grant_usage runs hourly)" not in result.figures
    assert result.summary == "1 live grant holds a scope no token carried in 30 days."
    assert result.findings[0].detail.startswith("tickets:write on CRM: no token in 30 days, last used ")
    assert token_request(oauth, agent, scope="tickets:write").status_code == 200
    call_command("grant_usage", stdout=io.StringIO())
    assert check("unused-access").status == "pass"


def test_an_agent_key_older_than_the_maximum_age_needs_rotating(agent):
    assert check("key-rotation").status == "pass"
    key = WorkloadCredential.objects.get(identity=agent.identity)
    WorkloadCredential.objects.filter(pk=key.pk).update(created_at=timezone.now() - timedelta(days=181))
    result = check("key-rotation")
    assert result.status == "warn" and names(result) == {agent.identity.name}
    assert result.summary == "1 enabled public key is older than 180 days: rotate it."


def test_owners_the_directory_does_not_keep_are_named_until_it_keeps_one(alice, bob, sam, make_identity, settings):
    from nhiportal.people.directory_sync import directory_person_update
    from nhiportal.people.models import SingleSignOnLink, TokenPurpose
    from nhiportal.people.services import api_token_create

    identity = make_identity(alice, backups=[bob], name="invoice-reader")
    result = check("owners-in-directory")
    assert result.status == "warn" and "Neither single sign-on nor directory sync is set up" in result.summary
    assert names(result) == {"invoice-reader"}

    # The directory takes bob over (SCIM): one owner it keeps is enough for the identity.
    token, _ = api_token_create(user=sam, name="okta", days=30, purpose=TokenPurpose.DIRECTORY_SYNC)
    directory_person_update(token=token, person=bob, fields={
        "username": "bob", "email": bob.email, "first_name": "", "last_name": "", "external_id": "00u-bob", "active": True,
    })
    result = check("owners-in-directory")
    assert result.status == "pass" and result.figures == {"active owners": 2, "kept by the directory": 1, "identities no such owner answers for": 0}

    # Bob leaves through the directory; alice, who signs in with a password, is left.
    directory_person_update(token=token, person=bob, fields={
        "username": "bob", "email": bob.email, "first_name": "", "last_name": "", "external_id": "00u-bob", "active": False,
    })
    result = check("owners-in-directory")
    assert result.status == "warn" and names(result) == {identity.name} and "1 identity in service answers only" in result.summary
    SingleSignOnLink.objects.create(user=alice, issuer="https://idp.example", subject="00u-alice")
    assert check("owners-in-directory").status == "pass"


def test_people_who_decide_access_with_a_password_alone_are_named(rita, sam, alice, settings):
    from nhiportal.people.second_factor import encrypt_secret
    from nhiportal.people.models import SecondFactor

    result = check("two-factors")
    assert result.status == "warn" and names(result) == {"rita", "sam"}  # alice owns, she decides nothing
    SecondFactor.objects.create(user=rita, secret_encrypted=encrypt_secret("JBSWY3DPEHPK3PXP"))
    sam.set_unusable_password()  # signs in through single sign-on only
    sam.save()
    result = check("two-factors")
    assert result.status == "pass" and result.figures == {"people who decide access": 2, "password alone": 0}
    settings.PASSWORD_SIGN_IN = False
    assert "Passwords are off" in check("two-factors").summary


def test_access_held_for_a_year_must_be_kept_in_a_review(agent, crm, grant, rita):
    from tokens.access_reviews import access_review_decide, access_review_launch
    from tokens.models import Grant

    old = grant(agent, crm, ["tickets:read"], days=400)
    assert check("access-reviewed").status == "pass"  # young access needs no review yet
    Grant.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=370))
    result = check("access-reviewed")
    assert result.status == "warn" and names(result) == {agent.identity.name}
    review = access_review_launch(actor=rita, name="Yearly", due=timezone.localdate(), service=crm)
    access_review_decide(actor=rita, item=review.items.get(), decision="keep")
    assert check("access-reviewed").status == "pass"


def test_a_production_agent_without_networks_or_with_a_new_one_needs_a_look(agent, oauth, crm, grant, alice):
    from inventory.services import identity_update

    grant(agent, crm, ["tickets:read"])
    result = check("networks-bound")
    assert result.status == "warn" and names(result) == {agent.identity.name}
    assert result.findings[0].detail == "active in production, tokens from any network"

    identity = AIIdentity.objects.get(pk=agent.identity.pk)
    identity_update(actor=alice, identity=identity, expected_version=identity.version, allowed_networks=["10.20.0.0/16"])
    assert token_request(oauth, agent, address="10.20.3.4").status_code == 200
    result = check("networks-bound")
    assert result.status == "pass"
    assert result.summary == "Every active production identity (1) is bound to its networks, and none got a token from a new network in 7 days."

    assert token_request(oauth, agent, address="10.20.9.9").status_code == 200  # another /24 inside its networks
    result = check("networks-bound")
    assert result.status == "warn" and result.findings[0].detail.startswith("a token from a new network, 10.20.9.0/24, ")
    assert result.summary.endswith("1 new network in 7 days: did the agent move, or was its key copied?")


def test_token_rates_limited_lists_identities_without_a_limit_and_those_that_reached_it(agent, oauth, crm, grant, sam, settings):
    from inventory.services import identity_update

    grant(agent, crm, ["tickets:read"])
    settings.NHI = {**settings.NHI, "TOKEN_RATE_PER_MINUTE": 0}
    result = check("token-rates-limited")
    assert result.status == "warn" and names(result) == {agent.identity.name}
    assert result.findings[0].detail == "active, and no limit on the tokens it may obtain"

    identity = AIIdentity.objects.get(pk=agent.identity.pk)
    identity_update(actor=sam, identity=identity, expected_version=identity.version, token_rate_per_minute=1)
    result = check("token-rates-limited")
    assert result.status == "pass"
    assert result.summary == "Every active identity (1) has a token rate limit (the portal's default: none), and none reached it in 7 days."

    assert token_request(oauth, agent).status_code == 200
    assert token_request(oauth, agent).status_code == 429
    result = check("token-rates-limited")
    assert result.status == "warn" and result.findings[0].detail.startswith("refused for its token rate limit, last ")
    assert result.figures["refused for their limit in 7 days"] == 1
    assert result.summary.endswith("1 reached it in 7 days: an agent in a loop, or a key in someone else's script?")


def test_tool_servers_in_step_warns_of_no_evidence_when_no_service_publishes_its_metadata(crm):
    result = check("tool-servers-in-step")
    assert result.status == "warn" and result.summary.startswith("No evidence yet: no active service publishes its tool and resource metadata")
    assert "set the resource metadata URL" in result.summary
    assert result.figures == {"active services": 1, "registered with their metadata": 0, "differing or unchecked": 0}


def test_a_tool_server_whose_metadata_drifted_or_went_unchecked_needs_a_look(sam, crm):
    files = service_create(actor=sam, name="Files MCP", audience="https://files.example.com/mcp", owner=sam,
                           metadata_url="https://files.example.com/.well-known/oauth-protected-resource/mcp")
    result = check("tool-servers-in-step")
    assert result.status == "warn" and names(result) == {"Files MCP"} and "not been checked" in result.findings[0].detail
    Service.objects.filter(pk=files.pk).update(metadata_checked_at=timezone.now(), metadata_drift={})
    assert check("tool-servers-in-step").status == "pass"
    Service.objects.filter(pk=files.pk).update(metadata_drift={"unregistered": ["files:share"]})
    result = check("tool-servers-in-step")
    assert result.status == "warn" and result.findings[0].detail == "advertises scopes not registered: files:share"
    assert result.findings[0].identity_id is None


def test_a_leaked_personal_api_token_counts_and_an_untold_holder_needs_a_look(alice, charlie):
    _, raw = api_token_create(user=alice, name="ci pipeline", days=30)
    exposure_report_token(actor=charlie, token=raw, where_found="build log 4411")
    result = check("exposure-response")
    assert result.figures["personal API tokens reported leaked, last 90 days (each revoked)"] == 1 and result.status == "pass"
    PersonalAPIToken.objects.update(revoked_at=timezone.now() - timedelta(hours=2))  # and notify_exposures never ran
    result = check("exposure-response")
    assert result.status == "warn" and names(result) == {"API token ci pipeline of alice"}
    call_command("notify_exposures", stdout=io.StringIO())
    assert check("exposure-response").status == "pass"
