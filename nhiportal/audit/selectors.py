"""Reading the audit log: filtered lists and chain verification."""

import hmac as hmac_lib
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.utils import timezone

from nhiportal.identity_filter import identity_names

from .chain import GENESIS_HASH, event_hash, event_hmac
from .labels import agent_id
from .models import AuditChainHead, AuditEvent


def events_for_identity(identity_id):
    """Everything that happened to an identity and the things it holds, newest first."""
    return AuditEvent.objects.filter(identity_id=identity_id).order_by("-id")


def events_for_identities(identity_ids):
    """Events about any of these identities (a list or a subquery), newest first.

    Audit imports no app, so the caller (inventory) narrows identity_ids by its own gate.
    """
    return AuditEvent.objects.filter(identity_id__in=identity_ids).order_by("-id")


def events_for_object(obj, *, limit: int = 20) -> list:
    """The latest events about one object (a person, say), newest first."""
    return list(AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).order_by("-id")[:limit])


def events_named(events, *, visible_identities=None) -> list:
    """The events, each given `identity_name` (the identity it concerns) and, when an agent
    acted, `actor_name` ("agent <its name>"; the label "agent:<client_id>" says only an id).

    `visible_identities`: the identities the viewer may see (a queryset), when not all of
    them: another identity's agent acting on one of theirs (a delegate) stays an id to them.
    One query for the names of a page of events."""
    events = list(events)
    agents = {event.pk: agent_id(event.actor_label) for event in events}
    names = identity_names([*(event.identity_id for event in events), *agents.values()], among=visible_identities)
    for event in events:
        event.identity_name = names.get(event.identity_id)
        if agents[event.pk] in names:
            event.actor_name = f"agent {names[agents[event.pk]]}"
    return events


def event_list():
    """The whole log, newest first; pages narrow it with AuditEventFilter."""
    return AuditEvent.objects.order_by("-id")


def _distinct(column: str) -> list[str]:
    """Every value an indexed column holds, in order: one index probe per value (a loose index
    scan, on SQLite and PostgreSQL alike), not a read of the whole log."""
    table, col = connection.ops.quote_name(AuditEvent._meta.db_table), connection.ops.quote_name(column)
    sql = (
        f"WITH RECURSIVE seen(v) AS (SELECT MIN({col}) FROM {table} "
        f"UNION ALL SELECT (SELECT MIN({col}) FROM {table} WHERE {col} > seen.v) FROM seen WHERE seen.v IS NOT NULL) "
        "SELECT v FROM seen WHERE v IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def known_actions() -> list[str]:
    """Every action the log holds ("identity.owners_set", ...), for the page's filter to offer and match."""
    return _distinct("action")


def known_object_types() -> list[str]:
    """Every object type the log holds ("inventory.aiidentity", ...)."""
    return _distinct("object_type")


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: object
    after: object


def event_changes(event: AuditEvent) -> list[FieldChange]:
    """What an event changed, field by field, for people to read (before or after may be missing).

    The log keeps stored values (a sensitivity of 2, a status of "active", ISO times); people
    read their labels ("Internal", "Active"), times to the minute, lists as lists and mappings
    as "key: value" pairs. Exports keep the stored values.
    """
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    fields = list(dict.fromkeys([*before, *after]))
    labels = {f: _choice_labels(event.object_type, f) for f in fields}
    return [FieldChange(f, _readable(before.get(f), labels[f]), _readable(after.get(f), labels[f])) for f in fields]


@lru_cache(maxsize=512)
def _choice_labels(object_type: str, field: str) -> dict[str, str] | None:
    """A model field's choice labels by stored value, when object_type names a model
    ("inventory.aiidentity") and the field has choices. Looked up by name: audit imports no app."""
    app_label, _, model_name = object_type.partition(".")
    try:
        model = apps.get_model(app_label, model_name)
        # A name in an event may also be a relation's (a person's "recovery_codes"), which has no choices.
        choices = getattr(model._meta.get_field(field), "flatchoices", None) or []
    except (LookupError, ValueError, FieldDoesNotExist):
        return None
    return {str(value): str(label) for value, label in choices} or None


def _readable(value, labels: dict[str, str] | None):
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(_readable(v, labels)) for v in value) or "none"
    if isinstance(value, dict):
        # Owners by role, say: "alice: primary, grace: backup" rather than Python's repr.
        return ", ".join(f"{k}: {_readable(v, None)}" for k, v in value.items()) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if labels is not None:
        return labels.get(str(value), value)
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return f"{timezone.localtime(moment) if timezone.is_aware(moment) else moment:%Y-%m-%d %H:%M}"
    return value


_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@dataclass
class ChainBreak:
    event_id: int | None
    problem: str


def audit_chain_verify(*, batch_size: int = 2000, start_after: int = 0) -> tuple[int, ChainBreak | None]:
    """Walk the chain oldest first (or from the event after `start_after`, trusting that one's
    hash); return (events checked, first break or None)."""
    expected_prev = GENESIS_HASH
    if start_after:
        expected_prev = AuditEvent.objects.values_list("hash", flat=True).get(id=start_after)
    checked = 0
    last_id = start_after
    while True:
        batch = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not batch:
            break
        for event in batch:
            if event.prev_hash != expected_prev:
                return checked, ChainBreak(event.id, "previous hash does not match the row before it (row removed or inserted)")
            recomputed = event_hash(event)
            if not hmac_lib.compare_digest(recomputed, event.hash):
                return checked, ChainBreak(event.id, "content does not match its hash (row edited)")
            if not hmac_lib.compare_digest(event_hmac(event.hash), event.hmac):
                return checked, ChainBreak(event.id, "HMAC does not match (hash rewritten without the key)")
            expected_prev = event.hash
            checked += 1
            last_id = event.id
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and head.last_hash != expected_prev:
        return checked, ChainBreak(None, "the newest events were removed (chain head points past the last row)")
    return checked, None
