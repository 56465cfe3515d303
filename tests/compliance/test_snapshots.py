"""Snapshots: each control's record over a period, for auditors (manage.py compliance_snapshot)."""

import csv
import io
from io import StringIO

from django.core.management import call_command

from nhiportal.audit.models import AuditEvent
from nhiportal.compliance.controls import CONTROLS
from nhiportal.compliance.models import ComplianceSnapshot


def snapshot() -> str:
    out = StringIO()
    call_command("compliance_snapshot", stdout=out)
    return out.getvalue()


def test_a_snapshot_records_every_controls_status_and_is_audited(db, alice, make_identity):
    make_identity(alice)
    assert f"of {len(CONTROLS)} controls pass" in snapshot()
    taken = ComplianceSnapshot.objects.get()
    assert set(taken.results) == {c.id for c in CONTROLS}
    assert taken.results["owned"]["status"] == "pass" and taken.taken_by_label == "system:compliance_snapshot"
    assert AuditEvent.objects.filter(action="compliance.snapshot", object_id=str(taken.pk)).count() == 1


def test_the_pages_show_each_controls_history_and_the_history_exports(client_for, carol, alice, bob, make_identity):
    page = client_for(carol).get("/compliance/").content.decode()
    assert "No snapshots yet" in page
    make_identity(alice)
    snapshot()
    alice.is_active = False  # the owner leaves: her draft identity is orphaned from the next snapshot on
    alice.save()
    snapshot()
    page = client_for(carol).get("/compliance/").content.decode()
    assert "2 snapshots taken" in page and 'class="dot dot-pass"' in page and 'class="dot dot-warn"' in page
    detail = client_for(carol).get("/compliance/controls/owned/").content.decode()
    assert detail.count('class="dot dot-') == 2
    rows = list(csv.DictReader(io.StringIO(client_for(carol).get("/compliance/history.csv").content.decode())))
    owned = [r["status"] for r in rows if r["control"] == "NHIP-01"]
    assert owned == ["pass", "warn"] and len(rows) == 2 * len(CONTROLS)
    assert client_for(bob).get("/compliance/history.csv").status_code == 403
