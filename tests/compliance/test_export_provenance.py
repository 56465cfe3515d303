"""Every compliance export names the portal that made it and the moment it was made, so a file
forwarded alone, or taken out of the evidence pack, still says where and when it comes from."""

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from nhiportal.compliance.models import ComplianceSnapshot
from tokens.exposures import exposure_report_token

pytestmark = pytest.mark.django_db

PORTAL = "http://testserver"  # NHI_ISSUER in the test settings
CSVS = [
    "/compliance/export.csv", "/compliance/history.csv", "/compliance/exposures.csv",
    "/compliance/task-approvals.csv", "/compliance/ownership-claims.csv", "/compliance/attestation-reviews.csv",
]


def csv_rows(response) -> list[dict]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(body.decode())))


def _made_now(text: str, before, after) -> bool:
    return before <= datetime.fromisoformat(text) <= after and text.endswith("+00:00")


def test_each_csv_row_names_the_portal_and_when_the_file_was_made(client_for, carol, alice, charlie, agent, get_token):
    exposure_report_token(actor=charlie, token=get_token(agent)["access_token"], where_found="wiki")
    ComplianceSnapshot.objects.create(taken_by_label="tests", results={"owned": {"status": "pass", "exceptions": 0, "evidence": "ok"}})
    client = client_for(carol)
    before = timezone.now() - timedelta(seconds=1)
    for url in CSVS:
        rows = csv_rows(client.get(url))
        after = timezone.now()
        if url in ("/compliance/task-approvals.csv", "/compliance/ownership-claims.csv", "/compliance/attestation-reviews.csv"):
            continue  # nothing of theirs here: their header is checked below
        assert rows, url
        for row in rows:
            made = row.get("exported_at") or row["assessed_at"]
            assert row["portal"] == PORTAL and _made_now(made, before, after), (url, row)


@pytest.mark.parametrize("url", CSVS)
def test_each_csv_has_the_provenance_columns_even_when_empty(client_for, carol, url):
    header = next(csv.reader(io.StringIO((b"".join(r.streaming_content) if (r := client_for(carol).get(url)).streaming else r.content).decode())))
    assert "portal" in header and ("exported_at" in header or "assessed_at" in header), header


def test_the_json_and_oscal_exports_name_the_portal_and_the_moment(client_for, carol):
    client = client_for(carol)
    exported = json.loads(client.get("/compliance/export.json").content)
    assert exported["portal"] == PORTAL and exported["assessed_at"].endswith("+00:00")
    metadata = json.loads(client.get("/compliance/export.oscal.json").content)["assessment-results"]["metadata"]
    assert {"name": "portal", "ns": "urn:nhi-portal:oscal", "value": PORTAL} in metadata["props"] and metadata["last-modified"]
