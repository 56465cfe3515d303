"""Keeping the issued-token ledger bounded: rows leave after expiry plus a retention period."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from nhiportal.audit.services import audit_record
from nhiportal.conf import nhi_setting

from .models import IssuedToken, Task, UsedAssertion

BATCH = 2000


def _delete_batch(queryset) -> int:
    ids = list(queryset.values_list("pk", flat=True)[:BATCH])
    if not ids:
        return 0
    return queryset.model.objects.filter(pk__in=ids).delete()[1].get(queryset.model._meta.label, 0)


def ledger_prune(*, actor, now=None) -> dict:
    """Delete token rows expired longer than TOKEN_RETENTION_DAYS, the tasks left without tokens
    that ended (or opened) as long ago, and used-assertion rows that can no longer block a replay.

    Batches keep each transaction (and SQLite's write lock) short on a large ledger. Each batch
    of tokens and tasks commits with its own tokens.prune event, so a run stopped part-way
    leaves no deletion unrecorded. Spent assertion ids are not recorded: past their expiry
    they block nothing, so their going changes nothing anyone could see."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=nhi_setting("TOKEN_RETENTION_DAYS"))
    tokens = IssuedToken.objects.filter(expires_at__lt=cutoff).order_by()
    # A task never ended by its agent goes too, once it is that old and its tokens are gone.
    tasks = (
        Task.objects.filter(Q(ended_at__lt=cutoff) | Q(ended_at__isnull=True, opened_at__lt=cutoff))
        .filter(tokens__isnull=True, subtasks__isnull=True)
        .order_by()
    )
    counts = {"tokens": 0, "tasks": 0, "used_assertions": 0}
    while True:
        with transaction.atomic():
            batch = {"tokens": _delete_batch(tokens)}
            batch["tasks"] = _delete_batch(tasks)  # after the tokens: a task whose last ones just went goes too
            if batch["tokens"] or batch["tasks"]:
                audit_record(
                    actor=actor, action="tokens.prune", object_type="tokens.issuedtoken", object_id="ledger",
                    object_repr="issued-token ledger", after={**batch, "expired_before": cutoff},
                )
        counts["tokens"] += batch["tokens"]
        counts["tasks"] += batch["tasks"]
        if batch["tokens"] < BATCH and batch["tasks"] < BATCH:
            break
    # In id order: the oldest (expired) rows first, so each batch stops early without an index.
    spent = UsedAssertion.objects.filter(expires_at__lt=now).order_by("pk")
    while deleted := _delete_batch(spent):
        counts["used_assertions"] += deleted
    return counts
