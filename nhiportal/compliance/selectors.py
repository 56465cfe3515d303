"""Reads of the compliance app's own records (the live evidence is in evidence.py), and of the
records the evidence pack takes away beside the other apps' exports: leak reports, task
approvals, ownership claims and attestation reviews (NHIP-03, 10, 11, 12 rest on them)."""

from datetime import date, datetime, time

from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory.models import Attestation, Ownership, OwnershipClaim
from nhiportal.audit.models import AuditEvent
from tokens.models import Exposure, Task

from .models import ComplianceSnapshot

HISTORY_LENGTH = 30


def snapshot_history(limit: int = HISTORY_LENGTH) -> list[ComplianceSnapshot]:
    """The latest snapshots, oldest first (for charts read left to right)."""
    return list(reversed(ComplianceSnapshot.objects.order_by("-taken_at")[:limit]))


def _from(since: date | None, queryset: QuerySet, field: str) -> QuerySet:
    """From the start of `since` in the portal's time zone; everything without one."""
    if since is None or since < date(1, 1, 3):  # no record is older; and the first days' start in UTC is before year 1
        return queryset
    return queryset.filter(**{f"{field}__gte": timezone.make_aware(datetime.combine(since, time.min))})


def exposures(*, since: date | None = None) -> QuerySet:
    """Leak reports (NHIP-12), oldest first: what was found where, contained when, and who confirmed or dismissed it."""
    rows = Exposure.objects.select_related("identity", "credential", "reported_by", "confirmed_by", "dismissed_by")
    return _from(since, rows, "contained_at").order_by("contained_at", "pk")


def task_approvals(*, since: date | None = None) -> QuerySet:
    """Agents' tasks that waited for a person (NHIP-10), oldest first, each with whether its
    approver owned the identity when approving (NHIP-11, as the control reads it)."""
    rows = Task.objects.filter(requires_approval=True).select_related("identity", "service", "approved_by").annotate(
        approver_was_owner=Exists(Ownership.objects.filter(
            identity=OuterRef("identity"), person=OuterRef("approved_by"),
            since__lte=Coalesce(OuterRef("approved_at"), OuterRef("opened_at")),
        ))
    )
    return _from(since, rows, "opened_at").order_by("opened_at", "pk")


def approval_reasons(task_ids) -> dict[str, str]:
    """What the approvers of these tasks wrote, by task id: the reason is kept in the audit
    event (`task.approve`), not on the task. One query on the audit log's object index."""
    events = AuditEvent.objects.filter(
        object_type="tokens.task", object_id__in=[str(pk) for pk in task_ids], action="task.approve"
    ).values_list("object_id", "reason")
    return dict(events)


def ownership_claims(*, since: date | None = None) -> QuerySet:
    """Claims on orphaned identities (NHIP-01, 11), oldest first: who claimed, why, who decided."""
    rows = OwnershipClaim.objects.select_related("identity", "claimant")
    return _from(since, rows, "claimed_at").order_by("claimed_at", "pk")


def attestation_reviews(*, since: date | None = None) -> QuerySet:
    """Owners' attestations and a second person's review of each (NHIP-03), oldest first."""
    rows = Attestation.objects.select_related("identity", "person")
    return _from(since, rows, "attested_at").order_by("attested_at", "pk")
