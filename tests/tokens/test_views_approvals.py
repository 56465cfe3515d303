"""The approvals pages and API: who sees, who decides, and what bad input gets."""

import pytest

from nhiportal.audit.models import AuditEvent
from nhiportal.audit.services import system_actor
from nhiportal.people.roles import OWNER
from nhiportal.people.services import role_assign
from tokens.models import Task

from .conftest import token_request

EXPORT = "customers:export"


@pytest.fixture
def pending(make_agent, crm, grant, oauth, alice):
    """A task of alice's autonomous agent, waiting for a person."""
    agent = make_agent(alice, autonomy="autonomous", name="exporter")
    grant(agent, crm, [EXPORT])
    response = token_request(oauth, agent, scope=EXPORT)
    assert response.json()["error"] == "authorization_pending"
    return Task.objects.get(pk=response.json()["task_id"])


def page(task):
    return f"/approvals/{task.pk}/"


def decided_events():
    return AuditEvent.objects.filter(action__in=["task.approve", "task.reject"])


def test_a_reviewer_sees_what_waits_and_approves_it(client_for, rita, pending):
    client = client_for(rita)
    listing = client.get("/approvals/")
    assert listing.status_code == 200 and b"exporter" in listing.content
    assert b'title="waiting for your decision">1<' in listing.content
    detail = client.get(page(pending))
    assert detail.status_code == 200 and b"Approve" in detail.content and b"consequential" in detail.content
    assert b"forbid-autonomous-consequential-without-approval" in detail.content
    response = client.post(page(pending), {"decision": "approve", "approve-minutes": "30", "approve-reason": "Quarter close."})
    assert response.status_code == 302
    task = Task.objects.get(pk=pending.pk)
    assert task.approval_state == "approved" and task.approved_by == rita
    event = decided_events().get()
    assert event.action == "task.approve" and event.actor == rita and event.reason == "Quarter close."


def test_a_security_admin_refuses_with_a_reason(client_for, sam, pending):
    response = client_for(sam).post(page(pending), {"decision": "reject", "reject-reason": "Not without legal."})
    assert response.status_code == 302
    task = Task.objects.get(pk=pending.pk)
    assert task.approval_state == "rejected" and task.end_reason == "Approval refused: Not without legal."
    assert decided_events().get().action == "task.reject"


@pytest.mark.parametrize(
    "data, field_error",
    [
        ({"decision": "approve", "approve-minutes": "0"}, b"greater than or equal to 1"),
        ({"decision": "approve", "approve-minutes": "100000"}, b"less than or equal to 480"),
        ({"decision": "approve", "approve-minutes": "soon"}, b"Enter a whole number"),
        ({"decision": "reject", "reject-reason": "  "}, b"This field is required"),
    ],
)
def test_bad_input_is_a_form_error_and_changes_nothing(client_for, rita, pending, data, field_error):
    response = client_for(rita).post(page(pending), data)
    assert response.status_code == 400
    assert field_error in response.content
    assert Task.objects.get(pk=pending.pk).approval_state == "pending"
    assert not decided_events().exists()


def test_a_task_is_decided_once(client_for, rita, sam, pending):
    client_for(rita).post(page(pending), {"decision": "approve", "approve-minutes": "30"})
    response = client_for(sam).post(page(pending), {"decision": "reject", "reject-reason": "Too late?"})
    assert response.status_code == 400 and b"no longer waits for approval" in response.content
    assert Task.objects.get(pk=pending.pk).approval_state == "approved"
    assert decided_events().count() == 1


def test_a_lapsed_request_no_longer_waits_for_anyone(client_for, rita, pending):
    from datetime import timedelta

    from django.utils import timezone

    Task.objects.filter(pk=pending.pk).update(opened_at=timezone.now() - timedelta(days=2))
    client = client_for(rita)
    assert b"exporter" not in client.get("/approvals/").content
    assert b"exporter" in client.get("/approvals/?state=all").content
    assert client.get("/api/v1/tasks/?approval=pending").json()["results"] == []
    response = client.post(page(pending), {"decision": "approve", "approve-minutes": "30"})
    assert response.status_code == 400 and b"no longer waits for approval" in response.content
    assert b"lapsed" in response.content and not decided_events().exists()


def test_the_owner_sees_the_request_but_another_person_decides(client_for, alice, pending):
    client = client_for(alice)
    assert b"exporter" in client.get("/approvals/").content
    detail = client.get(page(pending))
    assert detail.status_code == 200 and b"another person decides" in detail.content
    assert b'name="decision"' not in detail.content
    response = client.post(page(pending), {"decision": "approve", "approve-minutes": "30"})
    assert response.status_code == 403
    assert Task.objects.get(pk=pending.pk).approval_state == "pending"


def test_a_reviewer_who_owns_the_agent_does_not_decide(client_for, rita, make_agent, crm, grant, oauth):
    role_assign(user=rita, role=OWNER, actor=system_actor("tests"))  # a reviewer who also owns an agent (only owners are made owners)
    agent = make_agent(rita, autonomy="autonomous")
    grant(agent, crm, [EXPORT])
    task = Task.objects.get(pk=token_request(oauth, agent, scope=EXPORT).json()["task_id"])
    response = client_for(rita).post(page(task), {"decision": "approve", "approve-minutes": "30"})
    assert response.status_code == 403
    assert Task.objects.get(pk=task.pk).approval_state == "pending"


def test_compliance_reads_but_does_not_decide(client_for, carol, pending):
    client = client_for(carol)
    assert client.get(page(pending)).status_code == 200
    assert client.post(page(pending), {"decision": "approve", "approve-minutes": "30"}).status_code == 403
    assert not decided_events().exists()


def test_an_outsider_learns_nothing(client_for, charlie, pending):
    client = client_for(charlie)
    listing = client.get("/approvals/")
    assert listing.status_code == 200 and b"exporter" not in listing.content and b"Nothing waits" in listing.content
    assert client.get(page(pending)).status_code == 404
    assert client.post(page(pending), {"decision": "approve", "approve-minutes": "30"}).status_code == 404
    assert Task.objects.get(pk=pending.pk).approval_state == "pending"


def test_anonymous_visitors_are_sent_to_log_in(pending):
    from django.test import Client

    response = Client().get(page(pending))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_the_identity_page_shows_the_approval_state(client_for, alice, pending):
    panel = client_for(alice).get(f"/identities/{pending.identity_id}/access-panel/")
    assert b"approval pending" in panel.content and page(pending).encode() in panel.content


def api(task, verb):
    return f"/api/v1/tasks/{task.pk}/{verb}/"


def test_the_api_lists_pending_approvals_and_a_reviewer_approves(client_for, rita, pending):
    client = client_for(rita)
    listed = client.get("/api/v1/tasks/?approval=pending").json()
    assert [t["id"] for t in listed["results"]] == [str(pending.pk)] and listed["results"][0]["approval"] == "pending"
    response = client.post(api(pending, "approve"), {"minutes": 15}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["approval"] == "approved" and response.json()["approved_by"] == "rita"


def test_the_api_refuses_bad_input_and_the_wrong_people(client_for, rita, alice, charlie, pending):
    assert client_for(rita).post(api(pending, "approve"), {"minutes": 0}, content_type="application/json").status_code == 400
    assert client_for(rita).post(api(pending, "reject"), {}, content_type="application/json").status_code == 400
    assert client_for(alice).post(api(pending, "approve"), {"minutes": 5}, content_type="application/json").status_code == 403
    assert client_for(charlie).post(api(pending, "approve"), {"minutes": 5}, content_type="application/json").status_code == 404
    assert Task.objects.get(pk=pending.pk).approval_state == "pending" and not decided_events().exists()
