"""The audit log through the API: GET /api/v1/audit-events/ for reviewers, compliance, security admins."""

import pytest
from django.urls import reverse

from inventory.services import identity_activate
from nhiportal.audit.models import AuditEvent

LIST = reverse("api:audit-event-list")


@pytest.mark.parametrize("persona", ["rita", "carol", "sam"])
def test_it_lists_events_for_roles_that_see_everything(persona, alice, request, client_for, make_identity):
    make_identity(alice, name="support-copilot")
    response = client_for(request.getfixturevalue(persona)).get(LIST)
    assert response.status_code == 200
    assert "identity.register" in [e["action"] for e in response.json()["results"]]


@pytest.mark.parametrize("persona", ["alice", "charlie"])
def test_it_refuses_owners_and_outsiders_with_a_403(persona, request, client_for, alice, make_identity):
    identity = make_identity(alice)
    user = request.getfixturevalue(persona)
    assert client_for(user).get(LIST).status_code == 403
    event = AuditEvent.objects.filter(identity_id=identity.pk).first()
    assert client_for(user).get(reverse("api:audit-event-detail", args=[event.pk])).status_code == 403


def test_it_shows_one_event(alice, rita, client_for, make_identity):
    identity = make_identity(alice)
    event = AuditEvent.objects.get(action="identity.register")
    body = client_for(rita).get(reverse("api:audit-event-detail", args=[event.pk])).json()
    assert body["identity_id"] == str(identity.pk) and body["hash"] == event.hash
    assert client_for(rita).get(reverse("api:audit-event-detail", args=[10**9])).status_code == 404


def test_it_filters_events(alice, bob, rita, client_for, make_identity):
    mine = make_identity(alice)
    make_identity(bob)
    identity_activate(actor=alice, identity=mine)
    api = client_for(rita)

    def actions(**params):
        return [e["action"] for e in api.get(LIST, params).json()["results"]]

    assert actions(action="identity.activate") == ["identity.activate"]
    assert actions(action="identity.") == ["identity.activate", "identity.register", "identity.register"]
    assert actions(actor="bob", object_type="inventory.aiidentity") == ["identity.register"]
    assert "identity.activate" in actions(identity=str(mine.pk))
    assert actions(identity=mine.name.upper(), object_type="inventory.aiidentity") == ["identity.activate", "identity.register"]
    assert actions(identity="no-such-identity") == []
    assert actions(object_type="inventory.aiidentity", actor="alice") == ["identity.activate", "identity.register"]
    activated = AuditEvent.objects.get(action="identity.activate").at
    assert actions(since=activated.isoformat(), object_type="inventory.aiidentity") == ["identity.activate"]
    assert "identity.activate" not in actions(until=activated.isoformat())


def test_it_explains_a_malformed_filter_with_a_400(rita, client_for):
    response = client_for(rita).get(LIST, {"since": "yesterday", "identity": "x" * 201})
    assert response.status_code == 400
    assert set(response.json()) == {"since", "identity"}


def test_it_is_read_only(sam, client_for):
    assert client_for(sam).post(LIST, {}, content_type="application/json").status_code == 405


def test_a_siem_pulls_every_event_once_with_the_after_cursor(alice, carol, client_for, make_identity):
    make_identity(alice)
    client = client_for(carol)
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    cursor = ids[0]
    first = client.get(LIST, {"after": cursor}).json()
    assert [e["id"] for e in first["results"]] == ids[1:]  # oldest first after the cursor
    cursor = first["results"][-1]["id"]
    make_identity(alice, name="later-agent")
    later = client.get(LIST, {"after": cursor}).json()["results"]
    assert [e["id"] for e in later] == list(AuditEvent.objects.filter(id__gt=cursor).order_by("id").values_list("id", flat=True))
    assert later and all(e["id"] > cursor for e in later)
    assert client.get(LIST, {"after": "not-a-number"}).status_code == 400


@pytest.mark.parametrize("query, answers", [
    ("date_to=9999-12-31", 200),  # the last day there is: every event is before its end
    ("since=0001-01-01T00:00:00%2B05:00", 400),  # before the calendar once in UTC
    ("until=9999-12-31T23:59:59-05:00", 400),  # after it
    ("since=0634-05-12T17:27:19-21:14", 200),  # an offset PostgreSQL refuses: compared in UTC
])
def test_the_edges_of_the_calendar_are_an_answer_not_a_500(rita, client_for, alice, make_identity, query, answers):
    make_identity(alice)
    client = client_for(rita)
    response = client.get(f"/api/v1/audit-events/?{query}")
    assert response.status_code == answers
    if answers == 200:
        assert response.json()["count"] == AuditEvent.objects.count()
    else:
        assert "outside the calendar" in str(response.json())
    assert client.get(f"/audit/?{query}").status_code in (200, 400)
