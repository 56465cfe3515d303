"""Every path that revokes a token ends the sub-tasks opened by exchanging it, as revoking it by
hand does (test_revocation_chains.py): a leak report, a disabled credential, a compromised
signing key, a grant revoked or narrowed, a scope withdrawn from a service, an emergency, a
platform no longer trusted, an identity suspended. Otherwise the helper that exchanged the
principal's token would go on joining its sub-task by task_id for new tokens. Ending the
helper's own grant ends only what was opened from the helper's tokens. Through the real token
endpoint, with real signatures; each path's one event counts the sub-tasks it ended."""

import uuid

import pytest

from inventory.services import identity_suspend
from nhiportal.audit.models import AuditEvent
from tokens.delegations import delegation_create
from tokens.distrust import trust_end
from tokens.ending_previews import credential_disabling
from tokens.keys import active_signer
from tokens.models import Grant, IssuedToken, Task, WorkloadCredential
from tokens.revocation import token_revoke
from tokens.credentials import credential_disable
from tokens.services import grant_reduce, grant_revoke, service_update

from .test_revocation_chains import held, helper, join, joins_racing, jti, lent, live, orchestrator  # noqa: F401  (fixtures)
from .test_spiffe import bundle_key, request_with, svid, svid_agent, trust_domain  # noqa: F401  (fixtures)
from .test_token_exchange import exchange, unverified


@pytest.fixture
def sub_task(oauth, helper, held, lent):
    """The helper's sub-task, opened by exchanging the orchestrator's token, and a token it got
    there by task_id (no parent token): (task id, exchanged jti, joined jti)."""
    exchanged = exchange(oauth, helper, held["access_token"], scope="tickets:read")
    task_id = exchanged.json()["task_id"]
    return task_id, jti(exchanged), jti(join(oauth, helper, task_id))


def assert_ended(oauth, helper, sub_task):
    task_id, exchanged_jti, joined_jti = sub_task
    assert Task.objects.get(pk=task_id).ended_at is not None
    assert not live(exchanged_jti) and not live(joined_jti)
    refused = join(oauth, helper, task_id)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"


def test_a_leak_report_of_the_principals_token_ends_the_helpers_sub_task(client_for, charlie, oauth, orchestrator, helper, held, sub_task):
    response = client_for(charlie).post("/exposures/report/", {"token": held["access_token"], "where_found": "build log #812"})

    assert response.status_code == 302
    assert_ended(oauth, helper, sub_task)
    assert Task.objects.get(pk=held["task_id"]).ended_at is None  # a leaked token, not a finished task
    assert Task.objects.get(pk=sub_task[0]).end_reason == "Sub-task of a revoked token: Exposed: build log #812"
    event = AuditEvent.objects.get(action="exposure.report")
    assert (event.after["tokens_revoked"], event.after["tasks_ended"]) == (3, 1)
    assert not AuditEvent.objects.filter(action__in=["task.end", "token.revoke"]).exists()


def test_disabling_the_principals_credential_ends_the_sub_tasks_its_tokens_opened(client_for, alice, oauth, orchestrator, helper, held, sub_task):
    credential = WorkloadCredential.objects.get(kid=orchestrator.kid)
    promised = credential_disabling(credential)
    page = client_for(alice).get(f"/identities/{orchestrator.identity.pk}/credentials/{credential.pk}/disable/").content.decode()
    assert "<strong>1 open sub-task</strong> opened by exchanging those tokens ends" in page

    response = client_for(alice).post(
        f"/identities/{orchestrator.identity.pk}/credentials/{credential.pk}/disable/", {"reason": "Key in a CI log"}, follow=True,
    )

    assert_ended(oauth, helper, sub_task)
    assert promised["tokens"] == 3 and promised["subtasks"] == 1  # what the confirmation counted is what went
    assert "3 tokens obtained with it revoked. 1 sub-task opened by exchanging them ended." in response.content.decode()
    event = AuditEvent.objects.get(action="credential.disable")
    assert event.after == {"enabled": False, "tokens_revoked": 3, "tasks_ended": 1}


def test_the_credential_preview_counts_a_sub_task_whose_exchanged_token_was_given_back(alice, oauth, orchestrator, helper, held, lent):
    exchanged = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()
    token_revoke(token=IssuedToken.objects.get(jti=unverified(exchanged["access_token"])["jti"]), actor=alice, reason="Done with it")
    joined_jti = jti(join(oauth, helper, exchanged["task_id"]))
    credential = WorkloadCredential.objects.get(kid=orchestrator.kid)
    promised = credential_disabling(credential)

    disabled = credential_disable(actor=alice, credential=credential, reason="Rotated")

    assert (promised["tokens"], promised["subtasks"]) == (disabled.tokens_revoked, disabled.tasks_ended) == (2, 1)
    assert not live(joined_jti) and Task.objects.get(pk=exchanged["task_id"]).ended_at is not None


def test_a_leaked_key_report_ends_the_sub_tasks_of_the_tokens_it_obtained(client_for, alice, oauth, orchestrator, helper, held, sub_task):
    credential = WorkloadCredential.objects.get(kid=orchestrator.kid)

    client_for(alice).post(f"/identities/{orchestrator.identity.pk}/credentials/{credential.pk}/exposed/", {"where_found": "public gist"})

    assert_ended(oauth, helper, sub_task)
    assert AuditEvent.objects.get(action="exposure.report").after["tasks_ended"] == 1


def test_a_compromised_signing_key_ends_the_sub_tasks_of_the_tokens_it_signed(client_for, sam, oauth, orchestrator, helper, held, sub_task):
    kid = active_signer().kid

    client_for(sam).post(f"/keys/{kid}/compromised/", {"reason": "Key file in a public bucket", "confirm": kid})

    assert_ended(oauth, helper, sub_task)
    event = AuditEvent.objects.get(action="signing_key.compromised")
    assert (event.after["tokens_revoked"], event.after["tasks_ended"]) == (3, 1)


def test_an_emergency_revoke_ends_the_sub_tasks_but_not_the_agents_own_tasks(client_for, sam, oauth, orchestrator, helper, held, sub_task):
    response = client_for(sam).post("/emergency-revoke/", {"service": "all", "reason": "Breach drill", "confirm": "REVOKE ALL"})

    assert response.status_code == 302
    assert_ended(oauth, helper, sub_task)
    assert Task.objects.get(pk=held["task_id"]).ended_at is None
    event = AuditEvent.objects.get(action="tokens.emergency_revoke")
    assert (event.after["tokens_revoked"], event.after["tasks_ended"]) == (3, 1)


def test_revoking_the_principals_grant_ends_the_helpers_sub_task(client_for, sam, oauth, orchestrator, helper, held, sub_task):
    granted = Grant.objects.get(identity=orchestrator.identity)

    assert client_for(sam).post(f"/grants/{granted.pk}/revoke/", {"reason": "Project paused"}).status_code == 302

    assert_ended(oauth, helper, sub_task)
    event = AuditEvent.objects.get(action="grant.revoke")
    assert (event.after["tokens_revoked"], event.after["tasks_ended"]) == (3, 1)


def test_narrowing_the_principals_grant_below_its_token_ends_the_helpers_sub_task(sam, oauth, orchestrator, helper, held, sub_task):
    grant_reduce(actor=sam, grant=Grant.objects.get(identity=orchestrator.identity), remove=["tickets:write"], reason="Read only now")

    assert_ended(oauth, helper, sub_task)
    assert AuditEvent.objects.get(action="grant.reduce").after["tasks_ended"] == 1


def test_withdrawing_a_scope_the_principals_token_carried_ends_the_helpers_sub_task(sam, crm, oauth, orchestrator, helper, held, sub_task):
    service_update(
        actor=sam, service=crm, scopes=[{"name": s.name, "description": s.description} for s in crm.scopes.exclude(name="tickets:write")],
        reason="Writes move to the new API",
    )

    assert_ended(oauth, helper, sub_task)
    assert AuditEvent.objects.get(action="service.update").after["tasks_ended"] == 1


def test_revoking_the_helpers_own_grant_leaves_the_principal_alone_and_ends_what_came_from_the_helpers_token(
    sam, bob, oauth, make_agent, crm, grant, orchestrator, helper, held, lent,
):
    # The helper lost its own access: its tokens go and it gets none in its sub-task without a
    # grant, as any agent's task outlives a grant. What was opened from its tokens (a second
    # hand's sub-task) ends, as for any revoked token; the orchestrator's token and task go on.
    second = make_agent(bob, name="second-hand")
    grant(second, crm, ["tickets:read"])
    delegation_create(actor=bob, principal=helper.identity, delegate_id=second.identity.pk, reason="Second hand")
    first = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()
    joined_jti = jti(join(oauth, helper, first["task_id"]))
    handed = exchange(oauth, second, first["access_token"]).json()

    grant_revoke(actor=sam, grant=Grant.objects.get(identity=helper.identity), reason="Helper retired from CRM")

    assert live(unverified(held["access_token"])["jti"]) and Task.objects.get(pk=held["task_id"]).ended_at is None
    assert not live(unverified(first["access_token"])["jti"]) and not live(joined_jti)
    assert Task.objects.get(pk=first["task_id"]).ended_at is None
    assert join(oauth, helper, first["task_id"]).status_code == 400  # no grant, no token
    assert Task.objects.get(pk=handed["task_id"]).ended_at is not None
    assert join(oauth, second, handed["task_id"]).status_code == 400
    assert AuditEvent.objects.get(action="grant.revoke").after["tasks_ended"] == 1


def test_distrusting_the_principals_platform_ends_the_helpers_sub_task(oauth, sam, bob, make_agent, crm, grant, svid_agent, bundle_key, trust_domain):
    helper = make_agent(bob, name="helper")
    grant(helper, crm, ["tickets:read"])
    held = request_with(oauth, svid(bundle_key, jti=uuid.uuid4().hex)).json()
    delegation_create(actor=sam, principal=svid_agent, delegate_id=helper.identity.pk, reason="Triage helper")
    exchanged = exchange(oauth, helper, held["access_token"], scope="tickets:read")
    task_id = exchanged.json()["task_id"]
    joined_jti = jti(join(oauth, helper, task_id))

    trust_end(actor=sam, holder=trust_domain, reason="The SPIRE server was breached.")

    assert Task.objects.get(pk=task_id).ended_at is not None and not live(joined_jti)
    assert join(oauth, helper, task_id).status_code == 400
    event = AuditEvent.objects.get(action="trust_domain.distrust")
    assert event.after == {"trusted": False, "credentials_disabled": 1, "tokens_revoked": 3, "tasks_ended": 1}
    assert AuditEvent.objects.get(action="credential.disable").after["tasks_ended"] == 1


def test_suspending_the_principal_counts_the_helpers_sub_task_it_ends(alice, oauth, orchestrator, helper, held, sub_task, audit_actions_during):
    _, actions = audit_actions_during(lambda: identity_suspend(actor=alice, identity=orchestrator.identity, reason="Odd traffic"))

    assert actions == ["identity.suspend"]
    assert_ended(oauth, helper, sub_task)
    event = AuditEvent.objects.get(action="identity.suspend")
    assert (event.after["tokens_revoked"], event.after["tasks_ended"]) == (3, 2)  # its task and the helper's


def test_each_path_writes_its_one_event_and_no_other(client_for, alice, oauth, orchestrator, helper, held, sub_task, audit_actions_during):
    credential = WorkloadCredential.objects.get(kid=orchestrator.kid)

    _, actions = audit_actions_during(lambda: credential_disable(actor=alice, credential=credential, reason="Rotated"))

    assert actions == ["credential.disable"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_disabling_the_principals_credential_while_the_helper_joins_its_sub_task_leaves_none_of_its_tokens_live(
    oauth, make_agent, get_token, alice, bob, sam, crm, grant,
):
    # Disabling locks the helper's row with the orchestrator's (in id order).
    joins_racing(
        oauth, make_agent, get_token, alice, bob, sam, crm, grant,
        ending=lambda orchestrator, source: lambda: credential_disable(
            actor=alice, credential=WorkloadCredential.objects.get(kid=orchestrator.kid), reason="Leaked",
        ),
    )
