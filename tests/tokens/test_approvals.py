"""Human in the loop, through the token endpoint: an autonomous agent's consequential task waits
for a person, gets tokens once approved (until the window ends), and is told when refused."""

from datetime import timedelta

import jwt
import pytest
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from tokens.approvals import task_approve, task_reject
from tokens.models import IssuedToken, Task
from tokens.policy.models import PolicyDecision

from tokens.services import service_create

from .conftest import token_request
from .test_token_exchange import exchange

EXPORT = "customers:export"  # consequential on the CRM


@pytest.fixture
def autonomous(make_agent, crm, grant):
    agent = make_agent(autonomy="autonomous")
    grant(agent, crm, ["tickets:read", EXPORT])
    return agent


def ask(oauth, agent, **params):
    return token_request(oauth, agent, scope=EXPORT, **params)


def test_an_autonomous_agent_asking_for_a_consequential_scope_waits_for_a_person(oauth, autonomous):
    response = ask(oauth, autonomous)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "authorization_pending"
    task = Task.objects.get(pk=body["task_id"])
    assert task.requires_approval and task.approval_state == "pending" and task.scopes == [EXPORT]
    assert not IssuedToken.objects.exists()
    assert list(PolicyDecision.objects.order_by("pk").values_list("action", "enforced")) == [("issue", "deny"), ("approve", "allow")]
    event = AuditEvent.objects.get(action="task.approval_request", object_id=str(task.pk))
    assert event.after["policy_ids"] == ["forbid-autonomous-consequential-without-approval"]


def test_asking_again_before_anyone_decides_is_still_pending(oauth, autonomous):
    task_id = ask(oauth, autonomous).json()["task_id"]
    decisions = PolicyDecision.objects.count()
    again = ask(oauth, autonomous, task_id=task_id, authorization_details=None)
    assert again.status_code == 400
    assert again.json() == {"error": "authorization_pending", "error_description": again.json()["error_description"], "task_id": task_id}
    assert not IssuedToken.objects.exists() and Task.objects.count() == 1
    assert PolicyDecision.objects.count() == decisions  # polling is not a decision


def test_an_approved_task_gets_tokens_that_end_with_the_window(oauth, autonomous, rita):
    task_id = ask(oauth, autonomous).json()["task_id"]
    task = task_approve(actor=rita, task=Task.objects.get(pk=task_id), minutes=2)
    assert task.approval_expires_at - task.approved_at == timedelta(minutes=2)  # the window runs from the approval
    response = ask(oauth, autonomous, task_id=task_id, authorization_details=None, ttl="900")
    assert response.status_code == 200, response.content
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["task_id"] == task_id and claims["scope"] == EXPORT
    assert claims["exp"] <= int(task.approval_expires_at.timestamp())
    assert 100 <= claims["exp"] - claims["iat"] <= 120


def test_the_approval_covers_its_task_alone(oauth, autonomous, rita):
    task_id = ask(oauth, autonomous).json()["task_id"]
    task_approve(actor=rita, task=Task.objects.get(pk=task_id), minutes=10)
    another = ask(oauth, autonomous)
    assert another.json()["error"] == "authorization_pending" and another.json()["task_id"] != task_id


def test_a_refused_task_is_access_denied(oauth, autonomous, rita):
    task_id = ask(oauth, autonomous).json()["task_id"]
    task_reject(actor=rita, task=Task.objects.get(pk=task_id), reason="No exports this quarter.")
    response = ask(oauth, autonomous, task_id=task_id, authorization_details=None)
    assert response.status_code == 400 and response.json()["error"] == "access_denied"
    task = Task.objects.get(pk=task_id)
    assert task.approval_state == "rejected" and task.ended_by_label == "rita"
    assert not IssuedToken.objects.exists()


def test_an_expired_approval_gets_nothing(oauth, autonomous, rita):
    task_id = ask(oauth, autonomous).json()["task_id"]
    task_approve(actor=rita, task=Task.objects.get(pk=task_id), minutes=5)
    Task.objects.filter(pk=task_id).update(approval_expires_at=timezone.now() - timedelta(seconds=1))
    response = ask(oauth, autonomous, task_id=task_id, authorization_details=None)
    assert response.json()["error"] == "access_denied"
    assert not IssuedToken.objects.exists()


def test_a_request_nobody_decides_in_time_lapses(oauth, autonomous, settings):
    task_id = ask(oauth, autonomous).json()["task_id"]
    Task.objects.filter(pk=task_id).update(opened_at=timezone.now() - timedelta(hours=settings.NHI["APPROVAL_REQUEST_HOURS"], seconds=1))
    assert Task.objects.get(pk=task_id).approval_state == "lapsed"
    response = ask(oauth, autonomous, task_id=task_id, authorization_details=None)
    assert response.json()["error"] == "access_denied" and "in time" in response.json()["error_description"]


def test_a_request_policy_refuses_for_another_reason_is_not_sent_to_a_person(oauth, autonomous):
    details = '[{"type": "agent_task", "intent": "Export everything", "sensitivity": "restricted"}]'
    autonomous.identity.sensitivity_ceiling = 2
    autonomous.identity.save(update_fields=["sensitivity_ceiling"])
    response = ask(oauth, autonomous, authorization_details=details)
    assert response.json() == {"error": "access_denied", "error_description": "The portal's policy does not allow this request."}
    assert not Task.objects.exists()


def test_a_supervised_agent_gets_a_consequential_scope_without_waiting(oauth, make_agent, crm, grant):
    agent = make_agent(autonomy="supervised")
    grant(agent, crm, [EXPORT])
    assert ask(oauth, agent).status_code == 200
    assert not Task.objects.filter(requires_approval=True).exists()


def test_a_task_of_a_suspended_identity_ends_with_the_suspension_and_cannot_be_approved(oauth, autonomous, rita, alice):
    from django.core.exceptions import ValidationError

    from inventory.services import identity_suspend

    task_id = ask(oauth, autonomous).json()["task_id"]
    identity_suspend(actor=alice, identity=autonomous.identity, reason="Investigating.")
    task = Task.objects.get(pk=task_id)
    assert task.ended_at is not None and task.approval_state == "withdrawn"
    with pytest.raises(ValidationError, match="no longer waits"):
        task_approve(actor=rita, task=task, minutes=5)
    assert Task.objects.get(pk=task_id).approved_by is None


def test_an_approved_tasks_sub_task_shares_its_approval_and_window(oauth, autonomous, rita):
    from .test_token_exchange import exchange

    task_id = ask(oauth, autonomous).json()["task_id"]
    task = task_approve(actor=rita, task=Task.objects.get(pk=task_id), minutes=3)
    held = ask(oauth, autonomous, task_id=task_id, authorization_details=None).json()["access_token"]
    narrowed = exchange(oauth, autonomous, held, scope=EXPORT)
    assert narrowed.status_code == 200, narrowed.content
    claims = jwt.decode(narrowed.json()["access_token"], options={"verify_signature": False})
    assert claims["exp"] <= int(task.approval_expires_at.timestamp())
    assert Task.objects.get(pk=claims["task_id"]).parent_id == task.pk


def test_an_approval_on_one_service_does_not_carry_over_to_another_by_exchange(make_agent, crm, grant, oauth, sam, rita):
    # A person approved the task on the CRM; exchanging its token towards Billing is a new
    # consequential request there, which nobody approved.
    agent = make_agent(autonomy="autonomous")
    billing = service_create(
        actor=sam, name="Billing", audience="https://billing.example.com", owner=sam, trust_boundary="corp-internal",
        scopes=[{"name": "customers:export", "description": "Export every customer's card data", "consequential": True}],
    )
    grant(agent, crm, ["customers:export"])
    grant(agent, billing, ["customers:export"])
    crm_task = token_request(oauth, agent, scope="customers:export").json()["task_id"]
    task_approve(actor=rita, task=Task.objects.get(pk=crm_task), minutes=10)
    held = token_request(oauth, agent, scope="customers:export", task_id=crm_task, authorization_details=None)
    assert held.status_code == 200, held.content

    moved = exchange(oauth, agent, held.json()["access_token"], audience="https://billing.example.com", scope="customers:export")
    assert moved.status_code == 400 and moved.json()["error"] == "access_denied"
    assert not IssuedToken.objects.filter(audience="https://billing.example.com").exists()
    # Within the service it was approved on, the exchange still works.
    assert exchange(oauth, agent, held.json()["access_token"], scope="customers:export").status_code == 200
