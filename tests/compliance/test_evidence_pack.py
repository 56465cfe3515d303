"""The evidence pack: the portal's exports in one zip, with a manifest of their SHA-256."""

import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.campaigns import campaign_launch
from inventory.models import Campaign
from inventory.services import identity_activate
from nhiportal.audit.models import AuditEvent

URL = "/compliance/evidence-pack.zip"


def unzip(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/zip" and "nhi-evidence-" in response["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


# Outside a test transaction, as a request runs in production: the pack's one write commits alone.
@pytest.mark.django_db(transaction=True)
def test_compliance_staff_take_every_export_in_one_zip_with_checksums(client_for, carol, rita, alice, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice, name="crm-summariser"), reason="go")
    campaign = campaign_launch(actor=rita, name="Q4 production", due=timezone.localdate() + timedelta(days=10))
    pack = unzip(client_for(carol).get(URL))
    names = set(pack.namelist())
    assert {
        "README.txt", "compliance.json", "compliance.csv", "compliance.oscal.json", "compliance-history.csv", "identities.csv",
        "grants.csv", "credentials.csv", "access-requests.csv", "policy-decisions.csv", "audit-events.jsonl", f"campaigns/{campaign.pk}.csv",
    } <= names
    readme = pack.read("README.txt").decode()
    assert "by carol" in readme
    for name in names - {"README.txt"}:
        assert f"{hashlib.sha256(pack.read(name)).hexdigest()}  {name}  (" in readme, name
    identities = list(csv.DictReader(io.StringIO(pack.read("identities.csv").decode())))
    assert [row["name"] for row in identities] == ["crm-summariser"]
    credentials = list(csv.DictReader(io.StringIO(pack.read("credentials.csv").decode())))
    assert [(row["identity"], row["kind"], row["enabled"]) for row in credentials] == [("crm-summariser", "jwk", "yes")]
    assert len(json.loads(pack.read("compliance.json"))["controls"]) >= 20
    actions = [json.loads(line)["action"] for line in pack.read("audit-events.jsonl").decode().splitlines()]
    assert "identity.activate" in actions and "campaign.launch" in actions
    event = AuditEvent.objects.get(action="compliance.evidence_pack")
    assert event.actor_label == "carol" and event.after["readme_sha256"] == hashlib.sha256(pack.read("README.txt")).hexdigest()
    assert event.after["files"] == len(names) - 1 and identity.name in pack.read("identities.csv").decode()


def test_since_bounds_the_campaigns_and_must_have_begun(client_for, sam, rita, alice, make_identity):
    identity_activate(actor=alice, identity=make_identity(alice), reason="go")
    old = campaign_launch(actor=rita, name="Q2", due=timezone.localdate() + timedelta(days=10))
    Campaign.objects.filter(pk=old.pk).update(launched_at=timezone.now() - timedelta(days=10))
    recent = campaign_launch(actor=rita, name="Q4", due=timezone.localdate() + timedelta(days=10))
    since = timezone.localdate() - timedelta(days=5)
    pack = unzip(client_for(sam).get(URL, {"since": since.isoformat()}))
    assert [n for n in pack.namelist() if n.startswith("campaigns/")] == [f"campaigns/{recent.pk}.csv"]
    assert f"since {since:%Y-%m-%d}" in pack.read("README.txt").decode()
    for bad in ((timezone.localdate() + timedelta(days=1)).isoformat(), "last tuesday"):
        response = client_for(sam).get(URL, {"since": bad})
        assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert AuditEvent.objects.filter(action="compliance.evidence_pack").count() == 1


def test_a_day_not_begun_comes_back_to_the_compliance_page_with_the_error_at_its_field(client_for, carol):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = client_for(carol).get(URL, {"since": tomorrow})
    assert response.status_code == 400
    page = response.content.decode()
    assert "<h1>Compliance</h1>" in page and 'action="/compliance/evidence-pack.zip"' in page
    assert '<div class="error" id="id_since_error"><p>Choose a day that has begun.</p></div>' in page
    assert f'value="{tomorrow}"' in page and 'aria-invalid="true"' in page  # what was asked stays, marked wrong
    assert not AuditEvent.objects.filter(action="compliance.evidence_pack").exists()


def test_the_day_picker_offers_no_day_after_today(client_for, carol):
    page = client_for(carol).get("/compliance/").content.decode()
    assert f'max="{timezone.localdate().isoformat()}"' in page


def test_owners_and_outsiders_get_403_and_no_event(client_for, alice, charlie, client):
    for person in (alice, charlie):
        response = client_for(person).get(URL)
        assert response.status_code == 403 and response["Content-Type"] != "application/zip"
    assert client.get(URL).status_code == 302
    assert not AuditEvent.objects.filter(action="compliance.evidence_pack").exists()


def test_the_compliance_page_offers_it(client_for, carol):
    page = client_for(carol).get("/compliance/").content.decode()
    assert 'action="/compliance/evidence-pack.zip"' in page and "Download the evidence pack" in page
