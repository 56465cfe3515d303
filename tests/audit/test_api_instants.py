"""since/until name instants with their zone, as every instant the API takes: no guess. A date
alone or a time without a zone is a 400 naming the filter; whole days are date_from/date_to."""

import pytest

from nhiportal.audit.models import AuditEvent

LIST = "/api/v1/audit-events/"


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("value", ["2026-11-30T10:00:00", "2026-11-30", "2026-11-30 10:00"])
def test_it_refuses_an_instant_without_its_zone_on_the_filters_name(rita, client_for, name, value):
    response = client_for(rita).get(LIST, {name: value})
    assert response.status_code == 400, response.content
    assert list(response.json()) == [name] and "zone" in str(response.json()[name])


def test_it_takes_an_instant_with_its_zone_or_offset(rita, client_for, alice, make_identity):
    make_identity(alice)
    event = AuditEvent.objects.order_by("id").last()
    client = client_for(rita)
    for since in [event.at.isoformat(), event.at.isoformat().replace("+00:00", "Z")]:
        response = client.get(LIST, {"since": since})
        assert response.status_code == 200 and event.pk in [e["id"] for e in response.json()["results"]], since


def test_whole_days_are_date_from_and_date_to_in_utc(rita, client_for, alice, make_identity):
    make_identity(alice)
    day = AuditEvent.objects.order_by("id").last().at.date()
    response = client_for(rita).get(LIST, {"date_from": day.isoformat(), "date_to": day.isoformat()})
    assert response.status_code == 200 and response.json()["count"] == AuditEvent.objects.count()


def test_the_schema_says_what_the_instant_and_day_filters_take(db, client_for, rita):
    described = client_for(rita).get("/api/schema/", {"format": "json"}).json()
    parameters = {p["name"]: p for p in described["paths"]["/api/v1/audit-events/"]["get"]["parameters"]}
    for name in ("since", "until"):
        assert "zone" in parameters[name]["description"], name
    assert "UTC" in parameters["date_to"]["description"] and "whole day" in parameters["date_to"]["description"]


def test_the_audit_page_keeps_working_with_its_date_pickers(rita, client_for, alice, make_identity):
    make_identity(alice)
    day = AuditEvent.objects.order_by("id").last().at.date().isoformat()
    assert client_for(rita).get("/audit/", {"date_from": day, "date_to": day, "since": "", "until": ""}).status_code == 200
