"""The issuance hot path's statements, as SQL written once per process.

The ORM builds and compiles every query anew: about a millisecond each on a small machine,
against well under a tenth of that to run the same SQL from a cursor. Issuance runs about
a dozen statements per token, so its reads and inserts are here. The SQL is rendered once
(per database vendor) from the models' own table and column names, and every value is
adapted by its field's get_db_prep_save, so rows are stored exactly as the ORM stores
them. Reads return the few columns issuance needs; everything off the hot path uses the ORM.
"""

import fcntl
import json
import os
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone as dt_timezone
from functools import lru_cache

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils.dateparse import parse_datetime

from inventory.models import AIIdentity, Ownership

from .models import CredentialKind, Grant, IssuedToken, Service, WorkloadCredential

IDENTITY_FACTS = ("id", "name", "kind", "status", "autonomy", "environment", "trust_boundary", "sensitivity_ceiling")
SERVICE_FACTS = ("id", "name", "audience", "environment", "trust_boundary", "sensitivity", "updated_at")


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _columns(model, names) -> str:
    return ", ".join(_q(model._meta.get_field(n).column) for n in names)


@lru_cache(maxsize=None)
def _field(model, name: str):
    return model._meta.get_field(name)


def _db():
    """The connection itself: `connection` is a proxy that looks the thread's connection up on
    every attribute, and field adaptation reads several attributes per value."""
    return connections[DEFAULT_DB_ALIAS]


def _prep(model, name: str, value):
    return _field(model, name).get_db_prep_save(value, _db())


def _params(model, values: dict) -> list:
    db = _db()
    return [_field(model, name).get_db_prep_save(value, db) for name, value in values.items()]


def _rows(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def as_uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def as_datetime(value) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt_timezone.utc)
    parsed = parse_datetime(value)  # SQLite keeps datetimes as UTC text
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt_timezone.utc)


def as_json(value):
    return json.loads(value) if isinstance(value, (str, bytes)) else value


@lru_cache(maxsize=32)
def _insert_sql(model, names: tuple, vendor: str, returning: bool = False) -> str:
    placeholders = ", ".join(["%s"] * len(names))
    sql = f"INSERT INTO {_q(model._meta.db_table)} ({_columns(model, names)}) VALUES ({placeholders})"
    return sql + (f" RETURNING {_q(model._meta.pk.column)}" if returning else "")


def insert(model, **values) -> None:
    """INSERT one row. No model defaults are applied: give every column but an auto id."""
    params = _params(model, values)
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, tuple(values), connection.vendor), params)


def insert_returning_id(model, **values) -> int:
    """insert(), and the auto id the database gave the row."""
    params = _params(model, values)
    returning = connection.features.can_return_columns_from_insert
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, tuple(values), connection.vendor, returning), params)
        if returning:
            return cursor.fetchone()[0]
        return connection.ops.last_insert_id(cursor, model._meta.db_table, model._meta.pk.column)


@lru_cache(maxsize=4)
def _credential_sql(vendor: str, with_kid: bool) -> str:
    c = WorkloadCredential
    sql = (
        f"SELECT {_columns(c, ('id', 'thumbprint'))} FROM {_q(c._meta.db_table)} "
        f"WHERE {_columns(c, ('identity',))} = %s AND {_columns(c, ('kind',))} = %s AND {_columns(c, ('enabled',))}"
    )
    return sql + (f" AND {_columns(c, ('kid',))} = %s LIMIT 1" if with_kid else " LIMIT 2")


def client_keys(identity_id: uuid.UUID, kid: str | None) -> list[tuple[int, str]]:
    """(credential id, thumbprint) of the identity's enabled JWK credentials, by kid if given."""
    params = [_prep(WorkloadCredential, "identity", identity_id), CredentialKind.JWK]
    if kid:
        params.append(kid)
    return _rows(_credential_sql(connection.vendor, bool(kid)), params)


@lru_cache(maxsize=2)
def _identity_sql(vendor: str) -> str:
    i, o, user = AIIdentity, Ownership, get_user_model()
    owner_active = (
        f"EXISTS (SELECT 1 FROM {_q(o._meta.db_table)} o JOIN {_q(user._meta.db_table)} u "
        f"ON u.{_q(user._meta.pk.column)} = o.{_columns(o, ('person',))} "
        f"WHERE o.{_columns(o, ('identity',))} = i.{_q(i._meta.pk.column)} AND u.{_columns(user, ('is_active',))})"
    )
    facts = ", ".join(f"i.{_q(i._meta.get_field(n).column)}" for n in IDENTITY_FACTS)
    sql = f"SELECT {facts}, {owner_active} FROM {_q(i._meta.db_table)} i WHERE i.{_q(i._meta.pk.column)} = %s"
    # SQLite has no row locks: its IMMEDIATE transaction already holds the database's write lock.
    return sql + (" FOR UPDATE OF i" if connection.features.has_select_for_update_of else "")


def lock_identity(identity_id: uuid.UUID) -> AIIdentity | None:
    """The identity's policy facts, its row locked until the transaction ends (has_active_owner set)."""
    rows = _rows(_identity_sql(connection.vendor), [_prep(AIIdentity, "id", identity_id)])
    if not rows:
        return None
    *facts, owner_active = rows[0]
    identity = AIIdentity(**dict(zip(IDENTITY_FACTS, facts)))
    identity.id = as_uuid(identity.id)
    identity.has_active_owner = bool(owner_active)
    return identity


@lru_cache(maxsize=2)
def _enabled_sql(vendor: str) -> str:
    c = WorkloadCredential
    return f"SELECT 1 FROM {_q(c._meta.db_table)} WHERE {_q(c._meta.pk.column)} = %s AND {_columns(c, ('enabled',))}"


def credential_enabled(credential_id: int) -> bool:
    return bool(_rows(_enabled_sql(connection.vendor), [credential_id]))


@lru_cache(maxsize=4)
def _service_sql(vendor: str, introspecting: bool) -> str:
    s = Service
    sql = (
        f"SELECT {_columns(s, SERVICE_FACTS)} FROM {_q(s._meta.db_table)} "
        f"WHERE {_columns(s, ('audience',))} = %s AND {_columns(s, ('is_active',))}"
    )
    return sql + (f" AND {_columns(s, ('introspection_jwk',))} IS NOT NULL" if introspecting else "")


def active_service(audience: str, *, introspecting: bool = False) -> Service | None:
    """The active service with this audience (with an introspection key, if asked): the fields
    policy and issuance read, updated_at as stored (it only keys caches)."""
    rows = _rows(_service_sql(connection.vendor, introspecting), [audience])
    return Service(**dict(zip(SERVICE_FACTS, rows[0]))) if rows else None


@lru_cache(maxsize=2)
def _token_live_sql(vendor: str) -> str:
    t = IssuedToken
    return (
        f"SELECT 1 FROM {_q(t._meta.db_table)} WHERE {_columns(t, ('jti',))} = %s "
        f"AND {_columns(t, ('revoked_at',))} IS NULL AND {_columns(t, ('expires_at',))} > %s"
    )


def token_live(jti: str, now: datetime) -> bool:
    """The ledger says this token is neither revoked nor expired."""
    return bool(_rows(_token_live_sql(connection.vendor), [jti, _prep(IssuedToken, "expires_at", now)]))


@lru_cache(maxsize=2)
def _grants_sql(vendor: str) -> str:
    g = Grant
    return (
        f"SELECT {_columns(g, ('id', 'scopes', 'ends_at'))} FROM {_q(g._meta.db_table)} "
        f"WHERE {_columns(g, ('identity',))} = %s AND {_columns(g, ('service',))} = %s "
        f"AND {_columns(g, ('revoked_at',))} IS NULL AND {_columns(g, ('starts_at',))} <= %s AND {_columns(g, ('ends_at',))} > %s"
    )


def live_grants(identity_id: uuid.UUID, service_id: int, now: datetime) -> list[tuple[int, list, datetime]]:
    at = _prep(Grant, "ends_at", now)
    rows = _rows(_grants_sql(connection.vendor), [_prep(Grant, "identity", identity_id), service_id, at, at])
    return [(pk, as_json(scopes), as_datetime(ends_at)) for pk, scopes, ends_at in rows]


class _WriterQueue:
    """One issuance transaction at a time on SQLite, queued by the kernel rather than by SQLite.

    Two processes that both want SQLite's write lock do not queue: the loser sleeps and
    retries (1, 2, 5, 10, 15, 20, 25 ... ms), so under steady load a worker spends more time
    asleep than issuing. An flock on a file beside the database wakes the next writer the
    moment the lock is released. Other writers still meet SQLite's own busy timeout, so this
    changes waiting, never correctness. PostgreSQL locks rows and needs none of this.
    """

    def __init__(self):
        self._fd = None
        self._path = None
        self._threads = threading.Lock()

    def _file(self):
        path = str(connection.settings_dict["NAME"])
        if connection.vendor != "sqlite" or path.startswith("file:") or ":memory:" in path:
            return None
        if self._path != path:
            self._fd = os.open(f"{path}.issue-lock", os.O_RDWR | os.O_CREAT, 0o600)
            self._path = path
        return self._fd

    @contextmanager
    def held(self):
        fd = self._file()
        if fd is None:
            yield
            return
        with self._threads:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)


writer_queue = _WriterQueue()

