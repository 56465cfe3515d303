"""Compliance pages, exports and API: open to those who read everything, closed to everyone else."""

import csv
import io
import json

import pytest

from nhiportal.compliance.catalogue import entries
from nhiportal.compliance.controls import CONTROLS

PAGES = [
    "/compliance/", "/compliance/frameworks/", "/compliance/controls/owned/",
    "/compliance/export.csv", "/compliance/export.json", "/compliance/export.oscal.json",
    "/compliance/history.csv", "/compliance/evidence-pack.zip",
]


@pytest.mark.parametrize("url", PAGES)
def test_compliance_reviewers_and_admins_read_it_and_owners_and_outsiders_get_403(client_for, carol, rita, sam, alice, charlie, client, url):
    for person in (carol, rita, sam):
        assert client_for(person).get(url).status_code == 200, person
    for person in (alice, charlie):
        response = client_for(person).get(url)
        assert response.status_code == 403 and b"NHIP-" not in response.content, person
    assert client.get(url).status_code == 302  # to the login page


def test_the_overview_shows_each_control_with_its_status_and_the_failing_identity(client_for, carol, alice, make_identity):
    orphan = make_identity(alice, name="forgotten-bot")
    alice.is_active = False
    alice.save()
    page = client_for(carol).get("/compliance/").content.decode()
    for control in CONTROLS:
        assert control.number in page and control.title.replace("'", "&#x27;") in page
    assert 'aria-label="Chart of controls by status"' in page and "<svg" in page
    detail = client_for(carol).get("/compliance/controls/owned/").content.decode()
    assert f'href="/identities/{orphan.pk}/"' in detail and "no active owner" in detail


def test_an_unknown_control_is_404(client_for, carol):
    assert client_for(carol).get("/compliance/controls/no-such-control/").status_code == 404


def test_a_control_is_found_by_the_number_the_pages_show(client_for, carol, alice):
    response = client_for(carol).get("/compliance/controls/NHIP-01/")
    assert response.status_code == 302 and response["Location"] == "/compliance/controls/owned/"
    assert client_for(alice).get("/compliance/controls/NHIP-01/").status_code == 403


def test_the_frameworks_page_shows_coverage_and_the_unverified_aliases(client_for, carol):
    page = client_for(carol).get("/compliance/frameworks/").content.decode()
    assert "NHI1:2025" in page and "Improper Offboarding" in page and "GOVERN 1.7" in page
    assert "OWASP Agentic AI Top 10 A2" in page and "CSA MAESTRO TRUST-2" in page and "unverified alias" in page
    assert "outside the portal's reach" in page  # e.g. AAL3: the portal does not authenticate people's devices


def test_the_csv_export_has_one_row_per_control_and_entry_it_serves(client_for, carol):
    response = client_for(carol).get("/compliance/export.csv")
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == sum(len(c.maps) for c in CONTROLS)
    first = rows[0]
    assert first["control"] == "NHIP-01" and first["entry_id"] in entries() and first["status"] in ("pass", "warn", "fail")
    assert first["framework_version"] and first["assessed_at"]


def test_the_json_export_and_the_api_carry_the_same_evidence(client_for, carol, alice, bob, make_identity):
    make_identity(alice, name="forgotten-bot")
    alice.is_active = False
    alice.save()
    exported = json.loads(client_for(carol).get("/compliance/export.json").content)
    api = client_for(carol).get("/api/v1/compliance/").json()
    for document in (exported, api):
        owned = next(c for c in document["controls"] if c["id"] == "owned")
        assert owned["status"] == "warn" and owned["exceptions"][0]["name"] == "forgotten-bot"
        assert {m["id"] for m in owned["maps"]} == set(CONTROLS[0].maps)
        assert {f["id"] for f in document["frameworks"]} >= {"owasp-nhi", "nist-csf"}
    refused = client_for(bob).get("/api/v1/compliance/")
    assert refused.status_code == 403 and "Compliance evidence" in refused.json()["detail"]


def test_the_navigation_offers_compliance_only_to_those_who_may_read_it(client_for, carol, alice):
    assert b'href="/compliance/"' in client_for(carol).get("/").content
    assert b'href="/compliance/"' not in client_for(alice).get("/").content
