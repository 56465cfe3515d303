"""Instants programs send the API (a grant's or request's end, when a leak was seen) carry their
zone: one without it, or a date alone, is a 400 that says so, never read as UTC by guess."""

import pytest

from tokens.models import AccessRequest, Exposure, Grant

AMBIGUOUS = ["2027-01-31", "2027-01-31T18:00", "2027-01-31T18:00:00", "2027-01-31 18:00:00.5"]


def post(client, url, data):
    return client.post(f"/api/v1/{url}", data, content_type="application/json")


def grant_body(agent, crm, ends_at, **more):
    return {"identity": str(agent.identity.pk), "service": crm.pk, "scopes": ["tickets:read"], "ends_at": ends_at, "justification": "triage", **more}


@pytest.mark.parametrize("ends_at", AMBIGUOUS)
def test_a_grant_end_without_a_zone_is_refused(client_for, sam, agent, crm, ends_at):
    refused = post(client_for(sam), "grants/", grant_body(agent, crm, ends_at))
    assert refused.status_code == 400 and "zone" in refused.json()["ends_at"][0]
    assert not Grant.objects.exists()


def test_a_grant_start_without_a_zone_is_refused(client_for, sam, agent, crm):
    refused = post(client_for(sam), "grants/", grant_body(agent, crm, "2027-01-31T18:00:00Z", starts_at="2026-12-01T00:00"))
    assert refused.status_code == 400 and "zone" in refused.json()["starts_at"][0]


@pytest.mark.parametrize("ends_at, stored", [("2027-01-31T18:00:00Z", "2027-01-31T18:00:00Z"), ("2027-01-31T20:00:00+02:00", "2027-01-31T18:00:00Z")])
def test_a_grant_end_with_its_zone_is_kept_in_utc(client_for, sam, agent, crm, ends_at, stored):
    created = post(client_for(sam), "grants/", grant_body(agent, crm, ends_at))
    assert created.status_code == 201, created.content
    assert created.json()["ends_at"] == stored


@pytest.mark.parametrize("ends_at", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "2027-02-29T00:00:00Z"])
def test_an_instant_outside_the_calendar_is_a_400(client_for, sam, agent, crm, ends_at):
    assert post(client_for(sam), "grants/", grant_body(agent, crm, ends_at)).status_code == 400


@pytest.mark.parametrize("ends_at", AMBIGUOUS)
def test_an_access_request_end_without_a_zone_is_refused(client_for, alice, agent, crm, ends_at):
    refused = post(client_for(alice), "access-requests/", grant_body(agent, crm, ends_at))
    assert refused.status_code == 400 and "zone" in refused.json()["ends_at"][0]
    assert not AccessRequest.objects.exists()


def test_when_a_leak_was_seen_needs_its_zone(client_for, alice, agent, get_token):
    token = get_token(agent)["access_token"]
    refused = post(client_for(alice), "exposures/", {"token": token, "where_found": "a log", "seen_at": "2026-11-01T09:00"})
    assert refused.status_code == 400 and "zone" in refused.json()["seen_at"][0]
    assert not Exposure.objects.exists()
