"""GET /metrics: the portal's state in Prometheus's text format, for a scraper with the token."""

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.tokens.conftest import agent, crm, grant, make_agent, oauth, token_request  # noqa: F401  (fixtures)

TOKEN = "scrape-token-for-tests"


@pytest.fixture
def scraping(settings):
    settings.NHI = {**settings.NHI, "METRICS_TOKEN": TOKEN}


def scrape() -> dict:
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain; version=")
    assert "sessionid" not in response.cookies  # a machine endpoint: no browser state
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.content.decode()) for sample in family.samples}


def test_it_reports_identities_tokens_decisions_keys_and_the_sweep(scraping, agent, oauth, crm, grant, make_identity, alice):
    make_identity(alice)  # registered
    grant(agent, crm, ["tickets:read"])
    for _ in range(2):
        token_request(oauth, agent)
    seen = scrape()
    assert seen[("nhi_identities", (("status", "active"),))] == 1
    assert seen[("nhi_identities", (("status", "registered"),))] == 1
    assert seen[("nhi_identities", (("status", "offboarded"),))] == 0
    assert seen[("nhi_tokens_issued_total", ())] >= 2 and seen[("nhi_tokens_unexpired", ())] == 2
    assert seen[("nhi_policy_decisions_total", ())] >= 2 and seen[("nhi_audit_events_total", ())] > 0
    assert seen[("nhi_signing_key_age_seconds", ())] >= 0
    assert seen[("nhi_sweep_step_failed", (("step", "prune_tokens"),))] == 0
    assert seen[("nhi_sweep_step_seconds_since_success", (("step", "prune_tokens"),))] == -1  # never run


def test_it_wants_the_token_and_is_off_without_one(scraping, settings, db):
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert Client().post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405
    settings.NHI = {**settings.NHI, "METRICS_TOKEN": ""}
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_a_person_signed_in_gets_nothing_without_the_token(scraping, client_for, sam):
    assert client_for(sam).get("/metrics").status_code == 401
