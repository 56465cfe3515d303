"""The identity list as CSV: exactly the rows the current filters show, across all pages."""

import csv
import io

from django.urls import reverse

from nhiportal.audit.services import system_actor
from nhiportal.people.roles import OWNER
from nhiportal.people.services import role_assign

EXPORT = reverse("inventory:identity-export")


def rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_it_exports_every_filtered_row_across_pages(sam, alice, client_for, make_identity):
    for n in range(30):
        make_identity(alice, name=f"batch-{n:02d}", kind="pipeline")
    make_identity(alice, name="lonely-agent", kind="agent")
    response = client_for(sam).get(EXPORT, {"kind": "pipeline", "sort": "-name"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="identities.csv"' in response["Content-Disposition"]
    exported = rows(response)
    assert [r["name"] for r in exported] == [f"batch-{n:02d}" for n in reversed(range(30))]
    assert exported[0]["primary_owner"] == "alice"
    assert exported[0]["status"] == "registered"


def test_it_exports_only_what_the_person_may_see(alice, bob, client_for, make_identity):
    make_identity(alice, name="alice-agent")
    make_identity(bob, name="bob-agent")
    assert [r["name"] for r in rows(client_for(alice).get(EXPORT))] == ["alice-agent"]


def test_it_exports_nothing_but_the_header_to_an_outsider(alice, charlie, client_for, make_identity):
    make_identity(alice)
    response = client_for(charlie).get(EXPORT)
    assert b"".join(response.streaming_content).decode().splitlines() == [
        "id,name,kind,status,environment,trust_boundary,autonomy,sensitivity_ceiling,primary_owner,"
        "has_active_owner,risk_score,risk_factors,attestation_due,last_attested_at,created_at,purpose,offboarding_plan,backup_owners,"
        "attestation_interval_days"
    ]


def test_it_defuses_cells_a_spreadsheet_would_run_as_formulas(sam, alice, client_for, make_identity):
    make_identity(alice, name="harmless", purpose='=HYPERLINK("http://evil.example","click")')
    [row] = rows(client_for(sam).get(EXPORT))
    assert row["purpose"] == "'=HYPERLINK(\"http://evil.example\",\"click\")"


def test_it_answers_400_for_an_invalid_filter(sam, client_for):
    response = client_for(sam).get(EXPORT, {"status": "dormant"})
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content


def test_it_sends_anonymous_visitors_to_log_in(client):
    assert client.get(EXPORT).status_code == 302


def test_it_exports_backup_owners_as_the_import_reads_them(sam, alice, bob, carol, client_for, make_identity, monkeypatch):
    from inventory import views

    # Chunks of two, so the owners of a second chunk are read too.
    monkeypatch.setattr(views, "EXPORT_CHUNK", 2)
    role_assign(user=carol, role=OWNER, actor=system_actor("tests"))  # only people with the owner role are made owners
    for n in range(3):
        make_identity(alice, name=f"shared-{n}", backups=[carol, bob] if n != 1 else [])
    exported = {r["name"]: r["backup_owners"] for r in rows(client_for(sam).get(EXPORT))}
    assert exported == {"shared-0": "bob carol", "shared-1": "", "shared-2": "bob carol"}
