"""Unused identities: active for the whole window, yet no token in it."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from inventory.models import AIIdentity, Status
from inventory.services import identity_suspend
from nhiportal.audit.models import AuditEvent
from nhiportal.compliance.controls import assess, control_get
from tokens.models import IssuedToken

from .conftest import token_request

pytestmark = pytest.mark.django_db

PAGE = "/identities/unused/"
CARD = "/identities/unused/card/"
SUSPEND = "/identities/unused/suspend/"
API = "/api/v1/identities/unused/"


def _active_since(identity, days):
    AIIdentity.objects.filter(pk=identity.pk).update(status_changed_at=timezone.now() - timedelta(days=days))


@pytest.fixture
def idle_agent(make_agent):
    """An agent active for 40 days (the window is 30) that has obtained no token."""

    def make(owner=None, **fields):
        agent = make_agent(owner, **fields)
        _active_since(agent.identity, 40)
        return agent

    return make


def _listed(client) -> list[str]:
    return [i.name for i in client.get(PAGE).context["identities"]]


def _said(response) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request)]


def test_an_identity_active_for_the_window_without_a_token_is_listed(client_for, alice, idle_agent):
    agent = idle_agent(name="ticket-summariser")
    client = client_for(alice)
    assert _listed(client) == ["ticket-summariser"]
    html = client.get(PAGE).content.decode()
    assert "none kept" in html and f'href="/identities/{agent.identity.pk}/offboard/"' in html
    body = client.get(API).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["name"] == "ticket-summariser" and row["primary_owner"] == "alice" and row["last_token_at"] is None
    assert row["orphaned"] is False


def test_a_token_in_the_window_keeps_it_off_the_list_and_an_older_one_shows_as_its_last(
    client_for, alice, idle_agent, crm, grant, oauth
):
    agent = idle_agent()
    grant(agent, crm, ["tickets:read"])
    assert token_request(oauth, agent).status_code == 200
    client = client_for(alice)
    assert _listed(client) == []
    long_ago = timezone.now() - timedelta(days=31)
    IssuedToken.objects.update(issued_at=long_ago)
    assert _listed(client) == [agent.identity.name]
    assert client.get(API).json()["results"][0]["last_token_at"][:16] == long_ago.isoformat()[:16]


def test_an_identity_active_for_less_than_the_window_is_not_judged(client_for, alice, make_agent):
    agent = make_agent()
    _active_since(agent.identity, 29)
    assert _listed(client_for(alice)) == []


def test_registered_and_suspended_identities_are_not_listed(client_for, alice, idle_agent, make_agent):
    suspended = idle_agent()
    identity_suspend(actor=alice, identity=suspended.identity, reason="Paused.")
    _active_since(suspended.identity, 40)
    registered = make_agent(activate=False)
    _active_since(registered.identity, 40)
    assert _listed(client_for(alice)) == []


def test_each_person_sees_the_unused_identities_they_may_see(client_for, alice, bob, carol, charlie, idle_agent):
    idle_agent(alice, name="alices-agent")
    idle_agent(bob, name="bobs-agent")
    assert _listed(client_for(alice)) == ["alices-agent"]
    assert _listed(client_for(bob)) == ["bobs-agent"]
    assert sorted(_listed(client_for(carol))) == ["alices-agent", "bobs-agent"]
    outsider = client_for(charlie)
    assert _listed(outsider) == [] and b"No unused identities" in outsider.get(PAGE).content
    assert outsider.get(API).json()["count"] == 0
    assert "alices-agent" not in outsider.get(CARD).content.decode()


def test_anonymous_visitors_are_sent_to_log_in_and_the_api_refuses_them(client):
    assert client.get(PAGE).status_code == 302
    assert client.get(CARD).status_code == 302
    assert client.post(SUSPEND).status_code == 302
    assert client.get(API).status_code in (401, 403)


def test_an_owner_suspends_unused_identities_at_once_one_audit_event_each(client_for, alice, idle_agent):
    first, second = idle_agent(), idle_agent()
    client = client_for(alice)
    assert b'data-check-all="identity"' in client.get(PAGE).content
    response = client.post(SUSPEND, {"identity": [first.identity.pk, second.identity.pk], "reason": "Retired in October."})
    assert response.status_code == 302 and response["Location"] == PAGE
    assert _said(response) == ["2 identities suspended; their owners can reactivate them."]
    for agent in (first, second):
        identity = AIIdentity.objects.get(pk=agent.identity.pk)
        assert identity.status == Status.SUSPENDED and identity.status_reason == "Retired in October."
        event = AuditEvent.objects.get(action="identity.suspend", object_id=str(identity.pk))
        assert event.actor_label == "alice" and event.reason == "Retired in October."
    assert _listed(client) == []


def test_one_used_since_the_list_was_read_is_left_as_it_is(client_for, alice, idle_agent, crm, grant, oauth):
    used, idle = idle_agent(), idle_agent()
    client = client_for(alice)
    assert len(_listed(client)) == 2  # the list as the owner read it
    grant(used, crm, ["tickets:read"])
    assert token_request(oauth, used).status_code == 200
    response = client.post(SUSPEND, {"identity": [used.identity.pk, idle.identity.pk], "reason": "Retired."})
    assert _said(response) == [
        "1 identity suspended; their owners can reactivate them. 1 left as it was: used or changed since the list was read."
    ]
    assert AIIdentity.objects.get(pk=used.identity.pk).status == Status.ACTIVE
    assert AIIdentity.objects.get(pk=idle.identity.pk).status == Status.SUSPENDED


@pytest.mark.parametrize("person", ["bob", "carol", "rita", "charlie"])
def test_nobody_suspends_an_identity_they_may_not_change(request, client_for, alice, idle_agent, person):
    agent = idle_agent(alice)
    client = client_for(request.getfixturevalue(person))
    if person in ("carol", "rita"):  # they read it, and are offered no box to tick
        assert _listed(client) == [agent.identity.name]
        assert b'name="identity"' not in client.get(PAGE).content
    response = client.post(SUSPEND, {"identity": [agent.identity.pk], "reason": "Not mine."})
    assert _said(response) == ["Identity: An identity ticked is not one you may suspend."]
    assert AIIdentity.objects.get(pk=agent.identity.pk).status == Status.ACTIVE
    assert not AuditEvent.objects.filter(action="identity.suspend").exists()


@pytest.mark.parametrize(
    "data, said",
    [
        ({"reason": "Retired."}, "Identity: Tick at least one identity."),
        ({"identity": ["not-a-uuid"], "reason": "Retired."}, "Identity: An identity ticked is not one you may suspend."),
        ({"identity": ["00000000-0000-0000-0000-000000000000"], "reason": "Retired."}, "Identity: An identity ticked is not one you may suspend."),
        ({"identity": ["AGENT"], "reason": ""}, "Reason: This field is required."),
        ({"identity": ["AGENT"], "reason": "   "}, "Reason: This field is required."),
    ],
)
def test_bad_input_suspends_nothing_and_says_why(client_for, alice, idle_agent, data, said):
    agent = idle_agent()
    data["identity"] = [agent.identity.pk if i == "AGENT" else i for i in data.get("identity", [])]
    response = client_for(alice).post(SUSPEND, data)
    assert response.status_code == 302 and response["Location"] == PAGE
    assert _said(response) == [said]
    assert AIIdentity.objects.get(pk=agent.identity.pk).status == Status.ACTIVE
    assert not AuditEvent.objects.filter(action="identity.suspend").exists()


def test_the_identity_page_and_the_dashboard_name_an_unused_identity(client_for, alice, idle_agent, make_agent):
    idle = idle_agent(name="gone-quiet")
    busy = make_agent()
    client = client_for(alice)
    panel = client.get(f"/identities/{idle.identity.pk}/access-panel/").content.decode()
    assert "No token in the last 30 days" in panel
    assert "No token in the last" not in client.get(f"/identities/{busy.identity.pk}/access-panel/").content.decode()
    card = client.get(CARD)
    assert card.context["count"] == 1 and "gone-quiet" in card.content.decode()


def test_compliance_control_nhip_19_lists_unused_identities(alice, idle_agent, make_agent):
    control = control_get("identities-in-use")
    make_agent()
    (result,) = assess([control])
    assert result.result.status == "pass"
    idle = idle_agent(name="gone-quiet")
    (result,) = assess([control])
    assert result.result.status == "warn" and result.result.findings_total == 1
    assert result.result.findings[0].identity_id == idle.identity.pk
    assert "no token in 30 days" in result.result.findings[0].detail
