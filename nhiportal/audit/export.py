"""The audit log as JSON lines, for SIEMs: one event per line, every field, oldest first.

The export page and `manage.py audit_export` both write through `export_lines`, so a
SIEM gets the same record whichever way it pulls. Each line carries the event's hash
fields unchanged, so a consumer can recompute `hash` from them and follow `prev_hash`.
"""

import json
from collections.abc import Iterator

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet

from .chain import event_fields
from .models import AuditEvent

BATCH_SIZE = 1000


def event_record(event: AuditEvent) -> dict:
    return {"id": event.id, **event_fields(event), "hash": event.hash, "hmac": event.hmac}


def event_line(event: AuditEvent) -> str:
    return json.dumps(event_record(event), cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":")) + "\n"


def export_lines(queryset: QuerySet, *, batch_size: int = BATCH_SIZE) -> Iterator[str]:
    """Lines for every event in queryset, oldest first.

    Reads in id-keyed batches rather than one cursor, so a long download holds no
    cursor open and a million-row export uses the memory of one batch.
    """
    queryset = queryset.order_by("id")
    last_id = 0
    while True:
        batch = list(queryset.filter(id__gt=last_id)[:batch_size])
        if not batch:
            return
        for event in batch:
            yield event_line(event)
        last_id = batch[-1].id
