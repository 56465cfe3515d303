"""The issuance hot path's statements, written once per process (see nhiportal/prepared_sql.py).

Issuance runs about ten statements per token, most of them while it holds SQLite's one
write lock, so its reads and inserts are here. Reads return the few columns issuance needs,
as small fact objects rather than model instances (building a model instance costs more
than the read); everything off the hot path uses the ORM.
"""

import json
import uuid
from datetime import datetime, timezone as dt_timezone
from functools import lru_cache

from django.contrib.auth import get_user_model
from django.utils.dateparse import parse_datetime

from inventory.models import AIIdentity, Ownership, Status
from nhiportal import prepared_sql as sql
from nhiportal.prepared_sql import columns as _columns, db, quote as _q, table

from .models import CredentialKind, Grant, IssuedToken, KeyState, Service, SigningKey, TokenPace, WorkloadCredential

IDENTITY_FACTS = (
    "id", "name", "kind", "status", "autonomy", "environment", "trust_boundary", "sensitivity_ceiling", "allowed_networks",
    "token_rate_per_minute", "risk_score", "risk_factors",
)
SERVICE_FACTS = ("id", "name", "audience", "environment", "trust_boundary", "sensitivity", "requires_dpop", "updated_at")


class IdentityFacts:
    """What issuance and policy read of an identity (the AIIdentity attributes of the same names),
    and when its next token is due under its rate limit (TokenPace.next_at, None before its first)."""

    _COMPARED = IDENTITY_FACTS + ("has_active_owner",)
    __slots__ = _COMPARED + ("token_pace",)

    def __init__(self, values, has_active_owner: bool, token_pace: float | None = None):
        for name, value in zip(IDENTITY_FACTS, values):
            setattr(self, name, value)
        self.id = as_uuid(self.id)
        self.allowed_networks = tuple(as_json(self.allowed_networks))
        self.risk_factors = tuple(as_json(self.risk_factors) or ())
        self.has_active_owner = has_active_owner
        self.token_pace = token_pace

    @property
    def pk(self):
        return self.id

    def __eq__(self, other):
        # Issuance compares the facts a plan was made on with the facts under the lock. The
        # pace moves with every token and decides nothing a plan holds, so it is not compared.
        return type(other) is IdentityFacts and all(getattr(self, n) == getattr(other, n) for n in self._COMPARED)

    def get_status_display(self) -> str:
        return Status(self.status).label


class ServiceFacts:
    """What issuance and policy read of a service (the Service attributes of the same names)."""

    __slots__ = SERVICE_FACTS

    def __init__(self, values):
        for name, value in zip(SERVICE_FACTS, values):
            setattr(self, name, value)

    @property
    def pk(self):
        return self.id

    def __eq__(self, other):
        return type(other) is ServiceFacts and all(getattr(self, n) == getattr(other, n) for n in self.__slots__)


def _prep(connection, model, name: str, value):
    return sql.adapter(model, name, connection.vendor)(value)


def as_uuid(value) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def as_datetime(value) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt_timezone.utc)
    parsed = parse_datetime(value)  # SQLite keeps datetimes as UTC text
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt_timezone.utc)


def as_json(value):
    return json.loads(value) if isinstance(value, (str, bytes)) else value


@lru_cache(maxsize=4)
def _credential_sql(vendor: str, with_kid: bool) -> str:
    c = WorkloadCredential
    query = (
        f"SELECT {_columns(c, ('id', 'thumbprint'))} FROM {table(c)} "
        f"WHERE {_columns(c, ('identity',))} = %s AND {_columns(c, ('kind',))} = %s AND {_columns(c, ('enabled',))}"
    )
    return query + (f" AND {_columns(c, ('kid',))} = %s LIMIT 1" if with_kid else " LIMIT 2")


def client_keys(identity_id: uuid.UUID, kid: str | None) -> list[tuple[int, str]]:
    """(credential id, thumbprint) of the identity's enabled JWK credentials, by kid if given."""
    connection = db()
    values = [_prep(connection, WorkloadCredential, "identity", identity_id), CredentialKind.JWK]
    if kid:
        values.append(kid)
    return sql.execute(_credential_sql(connection.vendor, bool(kid)), values, connection)


@lru_cache(maxsize=2)
def _lock_sql(vendor: str) -> str:
    i = AIIdentity
    return f"SELECT 1 FROM {table(i)} WHERE {_q(i._meta.pk.column)} = %s FOR UPDATE"


@lru_cache(maxsize=2)
def _signer_lock_sql(vendor: str) -> str:
    k = SigningKey
    return f"SELECT 1 FROM {table(k)} WHERE {_columns(k, ('kid',))} = %s FOR KEY SHARE"


@lru_cache(maxsize=2)
def _identity_sql(vendor: str) -> str:
    i, o, c, user = AIIdentity, Ownership, WorkloadCredential, get_user_model()
    owner_active = (
        f"EXISTS (SELECT 1 FROM {table(o)} o JOIN {table(user)} u "
        f"ON u.{_q(user._meta.pk.column)} = o.{_columns(o, ('person',))} "
        f"WHERE o.{_columns(o, ('identity',))} = i.{_q(i._meta.pk.column)} AND u.{_columns(user, ('is_active',))})"
    )
    credential_enabled = (
        f"EXISTS (SELECT 1 FROM {table(c)} c WHERE c.{_q(c._meta.pk.column)} = %s "
        f"AND c.{_columns(c, ('identity',))} = i.{_q(i._meta.pk.column)} AND c.{_columns(c, ('enabled',))})"
    )
    k = SigningKey
    signer_active = (
        f"EXISTS (SELECT 1 FROM {table(k)} k WHERE k.{_columns(k, ('kid',))} = %s AND k.{_columns(k, ('state',))} = %s)"
    )
    p = TokenPace
    pace = f"(SELECT p.{_columns(p, ('next_at',))} FROM {table(p)} p WHERE p.{_columns(p, ('identity',))} = i.{_q(i._meta.pk.column)})"
    facts = ", ".join(f"i.{_q(i._meta.get_field(n).column)}" for n in IDENTITY_FACTS)
    return (
        f"SELECT {facts}, {owner_active}, {credential_enabled}, {signer_active}, {pace} "
        f"FROM {table(i)} i WHERE i.{_q(i._meta.pk.column)} = %s"
    )


def lock_identity(identity_id: uuid.UUID, credential_id: int, signing_kid: str) -> tuple[IdentityFacts | None, bool]:
    """The identity's policy facts, its row locked until the transaction ends (None when the
    identity is gone or the credential that signed the request is no longer enabled), and
    whether `signing_kid` still signs: read in the same statement, so the check costs nothing."""
    connection = db()
    vendor = connection.vendor
    key = _prep(connection, AIIdentity, "id", identity_id)
    if connection.features.has_select_for_update:
        # SQLite has no row locks: its IMMEDIATE transaction already holds the write lock.
        # Elsewhere the facts are read by a statement of their own, after the lock is held:
        # on PostgreSQL a statement that waited for a lock still reads other rows as they
        # were when it started, so a credential disabled by the transaction we waited for
        # would look enabled in the same statement.
        sql.execute(_lock_sql(vendor), [key], connection)
        # And the signing key's row, shared: a report that the key is compromised (FOR UPDATE)
        # then waits for this token to commit, and revokes it; or this reads it retired.
        sql.execute(_signer_lock_sql(vendor), [signing_kid], connection)
    rows = sql.execute(_identity_sql(vendor), [credential_id, signing_kid, KeyState.ACTIVE, key], connection)
    if not rows:
        return None, False
    *facts, owner_active, credential_enabled, signer_active, pace = rows[0]
    if not credential_enabled:
        return None, bool(signer_active)
    return IdentityFacts(facts, bool(owner_active), pace), bool(signer_active)


@lru_cache(maxsize=2)
def _pace_sql(vendor: str) -> str:
    p = TokenPace
    identity, next_at = _columns(p, ("identity",)), _columns(p, ("next_at",))
    return (
        f"INSERT INTO {table(p)} ({identity}, {next_at}) VALUES (%s, %s) "
        f"ON CONFLICT ({identity}) DO UPDATE SET {next_at} = excluded.{next_at}"
    )


def pace_save(identity_id: uuid.UUID, next_at: float) -> None:
    """When the identity's next token is due, after the one being issued (under its lock)."""
    connection = db()
    sql.execute(_pace_sql(connection.vendor), [_prep(connection, TokenPace, "identity", identity_id), next_at], connection)


@lru_cache(maxsize=4)
def _service_sql(vendor: str, introspecting: bool) -> str:
    s = Service
    query = (
        f"SELECT {_columns(s, SERVICE_FACTS)} FROM {table(s)} "
        f"WHERE {_columns(s, ('audience',))} = %s AND {_columns(s, ('is_active',))}"
    )
    return query + (f" AND {_columns(s, ('introspection_jwk',))} IS NOT NULL" if introspecting else "")


def active_service(audience: str, *, introspecting: bool = False) -> ServiceFacts | None:
    """The active service with this audience (with an introspection key, if asked): the fields
    policy and issuance read, updated_at as stored (it only keys caches)."""
    connection = db()
    rows = sql.execute(_service_sql(connection.vendor, introspecting), [audience], connection)
    return ServiceFacts(rows[0]) if rows else None


@lru_cache(maxsize=2)
def _token_live_sql(vendor: str) -> str:
    t = IssuedToken
    return (
        f"SELECT 1 FROM {table(t)} WHERE {_columns(t, ('jti',))} = %s AND {_columns(t, ('signing_kid',))} = %s "
        f"AND {_columns(t, ('revoked_at',))} IS NULL AND {_columns(t, ('expires_at',))} > %s"
    )


def token_live(jti: str, kid: str, now: datetime) -> bool:
    """The ledger says this token is neither revoked nor expired, and was signed by this key.

    The key counts: a signing key reported compromised is revoked in the ledger at once, but
    other processes keep verifying with it until their key cache is next checked. A token forged
    with it under the jti of a live token signed by another key is not that token."""
    connection = db()
    at = _prep(connection, IssuedToken, "expires_at", now)
    return bool(sql.execute(_token_live_sql(connection.vendor), [jti, kid, at], connection))


@lru_cache(maxsize=2)
def _grants_sql(vendor: str) -> str:
    g = Grant
    return (
        f"SELECT {_columns(g, ('id', 'scopes', 'ends_at'))} FROM {table(g)} "
        f"WHERE {_columns(g, ('identity',))} = %s AND {_columns(g, ('service',))} = %s "
        f"AND {_columns(g, ('revoked_at',))} IS NULL AND {_columns(g, ('starts_at',))} <= %s AND {_columns(g, ('ends_at',))} > %s"
    )


def live_grants(identity_id: uuid.UUID, service_id: int, now: datetime) -> list[tuple[int, list, datetime]]:
    connection = db()
    at = _prep(connection, Grant, "ends_at", now)
    identity = _prep(connection, Grant, "identity", identity_id)
    rows = sql.execute(_grants_sql(connection.vendor), [identity, service_id, at, at], connection)
    return [(pk, as_json(scopes), as_datetime(ends_at)) for pk, scopes, ends_at in rows]
