"""Writing to the audit log. Every service that changes state calls audit_record once,
inside its own transaction, so the event commits with the change or not at all.

audit_record runs on every state change, token issuance included, and it runs while the
caller holds its write lock (on SQLite the whole database's), so its three statements are
SQL rendered once per process rather than ORM queries (building one costs about a
millisecond on a small machine; running it, a tenth of that): see nhiportal/prepared_sql.py,
which stores every value exactly as the ORM would. Token issuance goes further: it builds
its event with audit_prepare before it queues for the lock, and audit_append only adds the
time and the chain link under it.
"""

import hashlib
import secrets
from datetime import datetime, timezone as dt_timezone
from functools import lru_cache

from django.utils import timezone

from nhiportal import prepared_sql

from .chain import GENESIS_HASH, canonical, event_hmac, fields_hash, hashed_fields, stored_json
from .context import request_id_var
from .models import AuditChainHead, AuditEvent


class Actor:
    """Who acted when it is not a logged-in person: an agent or a system command."""

    def __init__(self, label: str):
        self.label = label

    def __repr__(self):
        return f"Actor({self.label!r})"


def actor_label(actor) -> str:
    """How rows that record who did something name the actor: a username or an Actor's label."""
    if isinstance(actor, Actor):
        return actor.label
    return actor.get_username() if actor is not None else "system"


def system_actor(command: str) -> Actor:
    return Actor(f"system:{command}")


def agent_actor(client_id: str) -> Actor:
    return Actor(f"agent:{client_id}")


class PreparedEvent:
    """An audit event built ahead of its transaction: everything but its time and its place in
    the chain, which audit_append adds under the caller's lock (see audit_prepare)."""

    __slots__ = ("row", "canonical")

    def __init__(self, row: prepared_sql.Insert, canonical: tuple[str, str, str] | None, fields: dict):
        self.row = row
        # The hashed form cut around the two values added at append time; when it could not
        # be cut, the fields themselves, encoded at append time.
        self.canonical: tuple[str, str, str] | dict = canonical if canonical is not None else fields


# Stand-ins for `at` and `prev_hash` in the canonical form prepared ahead, cut out at append
# time. Random per process, and the cut is checked, so no stored text can be taken for one.
_AT_MARK, _PREV_MARK = (f'"{secrets.token_hex(16)}"' for _ in range(2))
_EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)


_OBJECT_REPR_LENGTH = AuditEvent._meta.get_field("object_repr").max_length


def audit_prepare(
    *,
    actor,
    action: str,
    obj=None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    identity=None,
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
) -> PreparedEvent:
    """Build one event for audit_append, outside any lock: the JSON, the hashed form, the row.

    `identity` is the AI identity the event concerns (defaults to obj when obj is one, or
    obj.identity_id when obj belongs to one), so the identity page can show its whole history.
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)
        if identity is None:
            identity = obj.pk if obj._meta.label_lower == "inventory.aiidentity" else getattr(obj, "identity_id", None)
    # Cut to what the row keeps, whoever named it (two identities' names, a webhook's host): a
    # longer one failed the whole change on PostgreSQL. Cut before hashing, as it is stored.
    object_repr = object_repr[:_OBJECT_REPR_LENGTH]
    if isinstance(actor, Actor) or actor is None:
        actor_id, label = None, (actor.label if actor else "system")
    else:
        actor_id, label = actor.pk, actor.get_username()

    # Stored as the database will give them back, so the hash computed now is the one
    # audit_verify recomputes from the row.
    event = dict(
        actor_id=actor_id,
        actor_label=label,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        identity_id=getattr(identity, "pk", identity),
        before=stored_json(before),
        after=stored_json(after),
        reason=reason,
        request_id=request_id_var.get(),
    )
    fields = hashed_fields(**event, at=_EPOCH, prev_hash="")
    fields["at"], fields["prev_hash"] = _AT_MARK[1:-1], _PREV_MARK[1:-1]
    text = canonical(fields).decode()
    cut = None
    if text.count(_AT_MARK) == 1 and text.count(_PREV_MARK) == 1:  # "at" sorts before "prev_hash"
        head, _, rest = text.partition(_AT_MARK)
        middle, _, tail = rest.partition(_PREV_MARK)
        cut = (head, middle, tail)
    return PreparedEvent(prepared_sql.Insert(AuditEvent, event), cut, event)


def audit_append(event: PreparedEvent) -> None:
    """Append a prepared event to the chain, now. Must run inside the caller's transaction."""
    connection = prepared_sql.db()
    if not connection.in_atomic_block:
        raise RuntimeError("audit events must be written inside the transaction of the change they record")
    at = timezone.now()
    prev_hash = _chain_head(connection)
    if isinstance(event.canonical, tuple):
        head, middle, tail = event.canonical
        digest = hashlib.sha256(f'{head}"{at.isoformat()}"{middle}"{prev_hash}"{tail}'.encode()).hexdigest()
    else:
        digest = fields_hash(hashed_fields(**event.canonical, at=at, prev_hash=prev_hash))
    event.row.run(connection, at=at, prev_hash=prev_hash, hash=digest, hmac=event_hmac(digest))
    prepared_sql.execute(_head_sql(connection.vendor, "advance"), [digest], connection)


def audit_record(**event) -> None:
    """Append one event to the chain (audit_prepare's arguments). Must run inside the caller's transaction."""
    audit_append(audit_prepare(**event))


@lru_cache(maxsize=8)
def _head_sql(vendor: str, statement: str) -> str:
    head = AuditChainHead
    where = f"WHERE {prepared_sql.quote(head._meta.pk.column)} = 1"
    if statement == "advance":
        return f"UPDATE {prepared_sql.table(head)} SET {prepared_sql.columns(head, ('last_hash',))} = %s {where}"
    # The row lock makes concurrent writers append one at a time, each after the true last
    # event. SQLite has no row locks: its IMMEDIATE transaction already holds the write lock.
    lock = " FOR UPDATE" if prepared_sql.db().features.has_select_for_update else ""
    return f"SELECT {prepared_sql.columns(head, ('last_hash',))} FROM {prepared_sql.table(head)} {where}{lock}"


def _chain_head(connection) -> str:
    """The chain's last hash, its row locked until the caller's transaction ends."""
    rows = prepared_sql.execute(_head_sql(connection.vendor, "read"), [], connection)
    if not rows:  # the first event ever: create the row (get_or_create copes with a race)
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(
            pk=1, defaults={"last_hash": GENESIS_HASH}
        )
        return head.last_hash
    return rows[0][0]
