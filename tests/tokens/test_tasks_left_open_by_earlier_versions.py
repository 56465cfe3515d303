"""Upgrading ends the tasks earlier versions left open that can no longer be worked on
(migration tokens 0043): those of suspended identities, and the sub-tasks a delegate opened
under a delegation that has ended. Else they could still be joined by task_id."""

import pytest

from inventory.services import identity_suspend
from nhiportal.audit.models import AuditEvent
from tests.upgrades import upgrade
from tokens.delegations import delegation_create, delegation_revoke
from tokens.models import IssuedToken, Task

from .conftest import token_request
from .test_token_exchange import exchange


def as_before(*task_ids) -> None:
    """Arrange: these tasks open, as a version that did not end them left them."""
    Task.objects.filter(pk__in=task_ids).update(ended_at=None, ended_by_label="", end_reason="")


@pytest.mark.django_db(transaction=True)
def test_upgrading_ends_the_tasks_of_suspended_identities_and_of_ended_delegations(
    oauth, make_agent, get_token, grant, crm, alice, bob,
):
    suspended, working = make_agent(alice, name="suspended"), make_agent(alice, name="working")
    orchestrator, helper, still_lent = make_agent(alice, name="orchestrator"), make_agent(bob, name="helper"), make_agent(bob, name="lent")
    for agent in (helper, still_lent):
        grant(agent, crm, ["tickets:read"])
    held = get_token(orchestrator, scope="tickets:read", ttl="600")
    ended_delegation = delegation_create(actor=alice, principal=orchestrator.identity, delegate_id=helper.identity.pk, reason="Triage")
    delegation_create(actor=alice, principal=orchestrator.identity, delegate_id=still_lent.identity.pk, reason="Triage")
    orphaned_sub_task = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()["task_id"]
    lent_sub_task = exchange(oauth, still_lent, held["access_token"], scope="tickets:read").json()["task_id"]
    delegation_revoke(actor=alice, delegation=ended_delegation, reason="Pilot over")
    suspended_task = get_token(suspended)["task_id"]
    identity_suspend(actor=alice, identity=suspended.identity, reason="Odd traffic")
    working_task = get_token(working)["task_id"]
    as_before(orphaned_sub_task, suspended_task)
    joined = token_request(oauth, helper, task_id=orphaned_sub_task, authorization_details=None)
    assert joined.status_code == 200, joined.content  # what the upgrade is for

    upgrade("tokens", "0042_grant_expiry_reported_at", "0043_end_tasks_left_open")

    for task_id in (orphaned_sub_task, suspended_task):
        task = Task.objects.get(pk=task_id)
        assert task.ended_at is not None and task.ended_by_label == "system:migrate" and "migration tokens 0043" in task.end_reason
        assert AuditEvent.objects.filter(action="task.end", object_id=str(task_id), actor_label="system:migrate").count() == 1
    assert IssuedToken.objects.get(task_id=orphaned_sub_task, parent__isnull=True).revoked_at is not None
    assert token_request(oauth, helper, task_id=orphaned_sub_task, authorization_details=None).status_code == 400
    for task_id in (working_task, lent_sub_task, held["task_id"]):
        assert Task.objects.get(pk=task_id).ended_at is None
    assert AuditEvent.objects.filter(action="task.end").count() == 2
