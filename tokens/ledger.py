"""Keeping the issued-token ledger bounded: rows leave after expiry plus a retention period."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from nhiportal.audit.services import audit_record
from nhiportal.conf import nhi_setting

from .models import IssuedToken, Task, UsedAssertion

BATCH = 2000


def _delete_in_batches(queryset) -> int:
    # Batches keep each transaction (and SQLite's write lock) short on a large ledger.
    deleted = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return deleted
        with transaction.atomic():
            deleted += queryset.model.objects.filter(pk__in=ids).delete()[1].get(queryset.model._meta.label, 0)


def ledger_prune(*, actor, now=None) -> dict:
    """Delete token rows expired longer than TOKEN_RETENTION_DAYS, the tasks left without tokens
    that ended (or opened) as long ago, and used-assertion rows that can no longer block a replay."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=nhi_setting("TOKEN_RETENTION_DAYS"))
    counts = {
        "tokens": _delete_in_batches(IssuedToken.objects.filter(expires_at__lt=cutoff).order_by()),
        # A task never ended by its agent goes too, once it is that old and its tokens are gone.
        "tasks": _delete_in_batches(
            Task.objects.filter(Q(ended_at__lt=cutoff) | Q(ended_at__isnull=True, opened_at__lt=cutoff))
            .filter(tokens__isnull=True, subtasks__isnull=True)
            .order_by()
        ),
        # In id order: the oldest (expired) rows first, so each batch stops early without an index.
        "used_assertions": _delete_in_batches(UsedAssertion.objects.filter(expires_at__lt=now).order_by("pk")),
    }
    if counts["tokens"] or counts["tasks"]:
        with transaction.atomic():
            audit_record(
                actor=actor, action="tokens.prune", object_type="tokens.issuedtoken", object_id="ledger",
                object_repr="issued-token ledger", after={**counts, "expired_before": cutoff},
            )
    return counts
