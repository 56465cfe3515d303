"""Writes of the compliance app: snapshots of every control's status."""

from django.db import transaction
from django.utils import timezone

from nhiportal.audit.services import actor_label, audit_record

from .controls import assess
from .models import ComplianceSnapshot


@transaction.atomic
def compliance_snapshot_take(*, actor) -> ComplianceSnapshot:
    now = timezone.now()
    results = {
        a.control.id: {"status": a.result.status, "exceptions": a.result.findings_total, "evidence": a.result.summary}
        for a in assess(now=now)
    }
    snapshot = ComplianceSnapshot.objects.create(taken_at=now, taken_by_label=actor_label(actor), results=results)
    audit_record(
        actor=actor, action="compliance.snapshot", obj=snapshot,
        after={"pass": snapshot.passing(), "controls": len(results)},
    )
    return snapshot
