"""Reads of the compliance app's own records (the live evidence is in evidence.py)."""

from .models import ComplianceSnapshot

HISTORY_LENGTH = 30


def snapshot_history(limit: int = HISTORY_LENGTH) -> list[ComplianceSnapshot]:
    """The latest snapshots, oldest first (for charts read left to right)."""
    return list(reversed(ComplianceSnapshot.objects.order_by("-taken_at")[:limit]))
