"""Revoking a token takes with it what was exchanged from it: the exchanged tokens, and the
sub-tasks those exchanges opened, so neither the agent nor a helper acting for it can go on
getting tokens in them by task_id. Through the real token and revocation endpoints, with real
signatures."""

import pytest

from inventory.bulk import identities_suspend
from inventory.services import identity_suspend
from nhiportal.audit.models import AuditEvent
from tokens.delegations import delegation_create, delegation_revoke
from tokens.models import Delegation, IssuedToken, Task
from tokens.revocation import task_end, token_revoke
from tokens.services import service_update

from .conftest import new_private_key, public_jwk, token_request
from .test_ending_access_races import _all_inactive, _requesting_tokens_while
from .test_introspection import ServiceClient
from .test_revocation_endpoint import revoke
from .test_delegation import held, helper, lent, orchestrator  # noqa: F401  (fixtures: an orchestrator lending its token to a helper)
from .test_token_exchange import exchange, unverified


def join(oauth, agent, task_id, scope="tickets:read"):
    """A client_credentials request joining an open task by its id."""
    return token_request(oauth, agent, task_id=task_id, authorization_details=None, scope=scope)


def jti(response) -> str:
    assert response.status_code == 200, response.content
    return unverified(response.json()["access_token"])["jti"]


def live(token_jti: str) -> bool:
    return IssuedToken.objects.get(jti=token_jti).revoked_at is None


def test_revoking_the_subject_token_ends_the_sub_task_the_helper_opened_with_it(oauth, orchestrator, helper, held, lent):
    exchanged = exchange(oauth, helper, held["access_token"], scope="tickets:read")
    exchanged_jti, sub_task = jti(exchanged), exchanged.json()["task_id"]
    joined_jti = jti(join(oauth, helper, sub_task))  # by task_id: a token with no parent token

    assert revoke(oauth, orchestrator, held["access_token"]).status_code == 200

    assert not live(unverified(held["access_token"])["jti"])
    assert not live(exchanged_jti) and not live(joined_jti)
    ended = Task.objects.get(pk=sub_task)
    assert ended.ended_at is not None and ended.ended_by_label == f"agent:{orchestrator.client_id}"
    refused = join(oauth, helper, sub_task)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    assert IssuedToken.objects.filter(task_id=sub_task).count() == 2


def test_the_one_revoke_event_counts_the_tokens_and_the_sub_tasks(oauth, orchestrator, helper, held, lent):
    sub_task = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()["task_id"]
    jti(join(oauth, helper, sub_task))

    revoke(oauth, orchestrator, held["access_token"])

    event = AuditEvent.objects.get(action="token.revoke")
    assert event.object_id == unverified(held["access_token"])["jti"]
    assert event.after == {"revoked": 3, "tasks_ended": 1}
    assert not AuditEvent.objects.filter(action="task.end").exists()  # the one event says it all


def test_the_revoked_tokens_own_task_stays_open(oauth, orchestrator, helper, held, lent):
    # RFC 7009 gives back one token: the task it served goes on, and its agent may get another.
    exchange(oauth, helper, held["access_token"], scope="tickets:read")

    revoke(oauth, orchestrator, held["access_token"])

    assert Task.objects.get(pk=held["task_id"]).ended_at is None
    assert join(oauth, orchestrator, held["task_id"]).status_code == 200


def test_it_reaches_every_hand_down_the_chain(oauth, make_agent, crm, grant, bob, orchestrator, helper, held, lent):
    sub_helper = make_agent(bob, name="sub-helper")
    grant(sub_helper, crm, ["tickets:read"])
    delegation_create(actor=bob, principal=helper.identity, delegate_id=sub_helper.identity.pk, reason="Second hand")
    first = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()
    second = exchange(oauth, sub_helper, first["access_token"]).json()
    joined_jti = jti(join(oauth, sub_helper, second["task_id"]))

    revoke(oauth, orchestrator, held["access_token"])

    assert Task.objects.filter(pk__in=[first["task_id"], second["task_id"]], ended_at__isnull=False).count() == 2
    assert not live(joined_jti)
    assert join(oauth, sub_helper, second["task_id"]).status_code == 400
    assert AuditEvent.objects.get(action="token.revoke").after == {"revoked": 4, "tasks_ended": 2}


def test_an_agent_revoking_its_own_token_ends_the_sub_tasks_it_narrowed_it_into(oauth, orchestrator, held):
    sub_task = exchange(oauth, orchestrator, held["access_token"], scope="tickets:read").json()["task_id"]
    joined_jti = jti(join(oauth, orchestrator, sub_task))

    revoke(oauth, orchestrator, held["access_token"])

    assert Task.objects.get(pk=sub_task).ended_at is not None and not live(joined_jti)
    assert join(oauth, orchestrator, sub_task).status_code == 400


def test_a_sub_task_whose_exchanged_token_was_already_given_back_still_ends(oauth, orchestrator, helper, held, lent):
    exchanged = exchange(oauth, helper, held["access_token"], scope="tickets:read")
    sub_task = exchanged.json()["task_id"]
    revoke(oauth, helper, exchanged.json()["access_token"])  # the helper gives back its one token...
    assert Task.objects.get(pk=sub_task).ended_at is None  # ...which ends no task of its own
    joined_jti = jti(join(oauth, helper, sub_task))

    revoke(oauth, orchestrator, held["access_token"])

    assert Task.objects.get(pk=sub_task).ended_at is not None and not live(joined_jti)
    assert join(oauth, helper, sub_task).status_code == 400


def test_revoking_an_exchanged_token_leaves_its_subject_and_siblings_alone(oauth, orchestrator, helper, held, lent):
    first = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()
    sibling = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()

    revoke(oauth, helper, first["access_token"])

    assert live(unverified(held["access_token"])["jti"]) and live(unverified(sibling["access_token"])["jti"])
    assert Task.objects.filter(ended_at__isnull=False).count() == 0
    assert join(oauth, helper, sibling["task_id"]).status_code == 200


def test_an_owner_revoking_the_subject_token_in_the_portal_ends_the_sub_task(client_for, alice, oauth, orchestrator, helper, held, lent):
    sub_task = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()["task_id"]
    joined_jti = jti(join(oauth, helper, sub_task))
    row = IssuedToken.objects.get(jti=unverified(held["access_token"])["jti"])

    response = client_for(alice).post(
        f"/identities/{orchestrator.identity.pk}/tokens/{row.pk}/revoke/", {"reason": "Leaked in a log"},
    )

    assert response.status_code == 302
    assert Task.objects.get(pk=sub_task).ended_at is not None and not live(joined_jti)
    assert Task.objects.get(pk=sub_task).end_reason.endswith("Leaked in a log")
    assert AuditEvent.objects.get(action="token.revoke").after == {"revoked": 3, "tasks_ended": 1}


def test_revoking_a_token_again_changes_nothing_and_writes_nothing(oauth, alice, orchestrator, helper, held, lent):
    sub_task = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()["task_id"]
    row = IssuedToken.objects.get(jti=unverified(held["access_token"])["jti"])
    assert token_revoke(token=row, actor=alice, reason="Leaked").tokens == 2

    assert token_revoke(token=row, actor=alice, reason="Again").tokens == 0
    assert AuditEvent.objects.filter(action="token.revoke").count() == 1
    assert Task.objects.get(pk=sub_task).end_reason == "Sub-task of a revoked token: Leaked"


def test_a_token_revoked_another_way_ends_its_sub_tasks_when_revoked_again(oauth, alice, orchestrator, helper, held, lent):
    # A token that expired (or was revoked before revocations ended sub-tasks) left the sub-task
    # the helper opened from it open: revoking that token here ends it.
    sub_task = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()["task_id"]
    joined_jti = jti(join(oauth, helper, sub_task))
    row = IssuedToken.objects.get(jti=unverified(held["access_token"])["jti"])
    IssuedToken.objects.filter(parent=row).update(revoked_at=row.issued_at, revoke_reason="Earlier")
    IssuedToken.objects.filter(pk=row.pk).update(revoked_at=row.issued_at, revoke_reason="Earlier")

    assert token_revoke(token=row, actor=alice, reason="Close what it opened").tokens == 1

    assert Task.objects.get(pk=sub_task).ended_at is not None and not live(joined_jti)
    assert AuditEvent.objects.get(action="token.revoke").after == {"revoked": 1, "tasks_ended": 1}


def joins_racing(oauth, make_agent, get_token, alice, bob, sam, crm, grant, *, ending) -> None:
    """An orchestrator's token lent to a helper, which exchanged it (opening a sub-task) and
    joins that sub-task from many threads while ending(orchestrator, token) runs: each join
    either commits first, and its token is revoked, or finds the sub-task ended."""
    orchestrator, helper = make_agent(alice, name="orchestrator"), make_agent(bob, name="helper")
    grant(helper, crm, ["tickets:read"])
    held = get_token(orchestrator, scope="tickets:read", ttl="600")
    delegation_create(actor=alice, principal=orchestrator.identity, delegate_id=helper.identity.pk, reason="load")
    sub_task = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()["task_id"]
    end_access = ending(orchestrator, IssuedToken.objects.get(identity=orchestrator.identity))
    service_key = new_private_key()
    crm_server = ServiceClient(service_update(actor=sam, service=crm, introspection_jwk=public_jwk(service_key)), service_key)

    issued, statuses = _requesting_tokens_while(
        helper, end_access,
        ask=lambda client, assertion: token_request(client, helper, assertion=assertion, task_id=sub_task, authorization_details=None),
    )

    assert issued, "some tokens were joined into the sub-task before access ended"
    assert set(statuses) <= {200, 400}
    assert Task.objects.get(pk=sub_task).ended_at is not None
    assert not IssuedToken.objects.filter(task_id=sub_task, revoked_at__isnull=True).exists()
    assert _all_inactive(crm_server, issued)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_revoking_the_subject_token_while_the_helper_joins_its_sub_task_leaves_none_of_its_tokens_live(
    oauth, make_agent, get_token, alice, bob, sam, crm, grant,
):
    # A join by task_id locks only the helper's row: revoking the orchestrator's token locks the
    # helper's too.
    joins_racing(
        oauth, make_agent, get_token, alice, bob, sam, crm, grant,
        ending=lambda orchestrator, source: lambda: token_revoke(token=source, actor=alice, reason="Leaked"),
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_suspending_the_orchestrator_while_the_helper_joins_its_sub_task_leaves_none_of_its_tokens_live(
    oauth, make_agent, get_token, alice, bob, sam, crm, grant,
):
    # Suspension ends the helper's sub-task under the orchestrator's task: it holds the helper's row too.
    joins_racing(
        oauth, make_agent, get_token, alice, bob, sam, crm, grant,
        ending=lambda orchestrator, source: lambda: identity_suspend(actor=alice, identity=orchestrator.identity, reason="Odd traffic"),
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_suspending_the_orchestrator_in_a_batch_while_the_helper_joins_leaves_none_of_its_tokens_live(
    oauth, make_agent, get_token, alice, bob, sam, crm, grant,
):
    # The batch locks every identity and every sub-task's agent in one order before suspending any.
    def ending(orchestrator, source):
        others = [make_agent(alice, name=f"bystander-{n}").identity for n in range(3)]
        return lambda: identities_suspend(actor=alice, identities=[*others, orchestrator.identity], reason="Odd traffic")

    joins_racing(oauth, make_agent, get_token, alice, bob, sam, crm, grant, ending=ending)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ending_the_orchestrators_task_while_the_helper_joins_its_sub_task_leaves_none_of_its_tokens_live(
    oauth, make_agent, get_token, alice, bob, sam, crm, grant,
):
    joins_racing(
        oauth, make_agent, get_token, alice, bob, sam, crm, grant,
        ending=lambda orchestrator, source: lambda: task_end(task=source.task, actor=alice, reason="Done"),
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ending_the_delegation_while_the_helper_joins_its_sub_task_leaves_none_of_its_tokens_live(
    oauth, make_agent, get_token, alice, bob, sam, crm, grant,
):
    def ending(orchestrator, source):
        lent = Delegation.objects.get(principal=orchestrator.identity)
        return lambda: delegation_revoke(actor=alice, delegation=lent, reason="Pilot over")

    joins_racing(oauth, make_agent, get_token, alice, bob, sam, crm, grant, ending=ending)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ending_the_delegation_while_the_helpers_own_helper_joins_its_sub_task_leaves_none_of_its_tokens_live(
    oauth, make_agent, get_token, alice, bob, sam, crm, grant,
):
    # The helper's helper joins a sub-task under the helper's: ending the delegation ends it and
    # locks its agent too (the delegate's row alone does not stop a join by task_id).
    orchestrator, helper, sub_helper = (make_agent(owner, name=name) for owner, name in [(alice, "orchestrator"), (bob, "helper"), (bob, "sub-helper")])
    for agent in (helper, sub_helper):
        grant(agent, crm, ["tickets:read"])
    held = get_token(orchestrator, scope="tickets:read", ttl="600")
    lent = delegation_create(actor=alice, principal=orchestrator.identity, delegate_id=helper.identity.pk, reason="load")
    delegation_create(actor=bob, principal=helper.identity, delegate_id=sub_helper.identity.pk, reason="second hand")
    first = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()
    sub_task = exchange(oauth, sub_helper, first["access_token"]).json()["task_id"]
    service_key = new_private_key()
    crm_server = ServiceClient(service_update(actor=sam, service=crm, introspection_jwk=public_jwk(service_key)), service_key)

    issued, statuses = _requesting_tokens_while(
        sub_helper, lambda: delegation_revoke(actor=alice, delegation=lent, reason="Pilot over"),
        ask=lambda client, assertion: token_request(client, sub_helper, assertion=assertion, task_id=sub_task, authorization_details=None),
    )

    assert issued and set(statuses) <= {200, 400}
    assert Task.objects.get(pk=sub_task).ended_at is not None
    assert not IssuedToken.objects.filter(task_id=sub_task, revoked_at__isnull=True).exists()
    assert _all_inactive(crm_server, issued)
