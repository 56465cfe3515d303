"""An incident's tag in the reasons finds every change made for it: the audit page, its export
and the API take `reason` (part of it, any case). Leak reports read and filter as one group."""

import json

import pytest
from django.urls import reverse

from inventory.services import identity_activate, identity_suspend
from nhiportal.people.services import api_token_create, api_token_exposed
from tokens.exposures import exposure_report_credential

LIST = reverse("audit:event-list")
EXPORT = reverse("audit:event-export")
API = reverse("api:audit-event-list")


@pytest.fixture
def incident(alice, sam, make_identity):
    """Two changes tagged INC-4711 in their reasons (in different cases), one that is not."""
    first, second, other = (identity_activate(actor=alice, identity=make_identity(alice, name=n)) for n in ("a-bot", "b-bot", "c-bot"))
    identity_suspend(actor=sam, identity=first, reason="Leaked key, INC-4711: contain")
    identity_suspend(actor=sam, identity=second, reason="see inc-4711 too")
    identity_suspend(actor=sam, identity=other, reason="INC-9000 drill")
    return first, second


def test_the_page_finds_the_events_whose_reason_holds_the_tag_in_any_case(incident, rita, client_for):
    response = client_for(rita).get(LIST, {"reason": "Inc-4711"})
    assert response.status_code == 200
    assert {(e.action, e.identity_id) for e in response.context["events"]} == {("identity.suspend", i.pk) for i in incident}
    # The filter row offers it, and keeps what was typed.
    assert 'name="reason" value="Inc-4711"' in response.content.decode()


def test_the_reason_combines_with_the_other_filters(incident, rita, client_for):
    first, _ = incident
    events = client_for(rita).get(LIST, {"reason": "inc-4711", "identity": first.name}).context["events"]
    assert [(e.action, e.identity_id) for e in events] == [("identity.suspend", first.pk)]


def test_a_reason_is_matched_as_text_not_as_a_pattern(incident, rita, client_for):
    assert client_for(rita).get(LIST, {"reason": "INC-47_1"}).context["page_obj"].paginator.count == 0
    assert client_for(rita).get(LIST, {"reason": "%"}).context["page_obj"].paginator.count == 0


def test_the_export_takes_the_pages_reason_filter(incident, carol, client_for):
    response = client_for(carol).get(EXPORT, {"reason": "INC-4711"})
    records = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert sorted(r["reason"] for r in records) == ["Leaked key, INC-4711: contain", "see inc-4711 too"]


def test_the_api_takes_the_reason_filter(incident, sam, client_for):
    body = client_for(sam).get(API, {"reason": "inc-4711"}).json()
    assert body["count"] == 2 and {e["identity_id"] for e in body["results"]} == {str(i.pk) for i in incident}


def test_a_reason_longer_than_any_is_a_filter_error_not_a_database_error(rita, client_for):
    assert client_for(rita).get(LIST, {"reason": "x" * 201}).status_code == 400
    assert client_for(rita).get(EXPORT, {"reason": "x" * 201}).status_code == 400
    api = client_for(rita).get(API, {"reason": "x" * 201})
    assert api.status_code == 400 and "reason" in api.json()


@pytest.mark.parametrize("person", ["alice", "charlie"])
def test_owners_and_outsiders_learn_nothing_by_reason(person, request, incident, client_for):
    client = client_for(request.getfixturevalue(person))
    for url in (LIST, EXPORT, API):
        response = client.get(url, {"reason": "INC-4711"})
        assert response.status_code == 403
        assert b"INC-4711" not in b"".join(response.streaming_content if response.streaming else [response.content])


def test_leak_reports_of_agents_keys_and_of_personal_api_tokens_read_and_filter_as_leak_reports(alice, bob, rita, client_for, make_identity):
    exposure_report_credential(actor=alice, credential=make_identity(alice).credentials.get(), where_found="a public gist")
    _token, raw = api_token_create(user=bob, name="ci", days=7)
    api_token_exposed(actor=alice, raw=raw, where="a build log")
    client = client_for(rita)
    assert {e.action for e in client.get(LIST, {"action": "leak report"}).context["events"]} == {"exposure.report", "api_token.exposed"}
    page = client.get(LIST).content.decode()
    assert '<span title="api_token.exposed">Leak report: personal API token exposed</span>' in page
    assert '<span title="exposure.report">Leak report: filed</span>' in page
