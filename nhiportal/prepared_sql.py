"""SQL written once per process, run straight on the driver: for the few statements every token costs.

The ORM builds and compiles every query anew, and even a hand-written statement sent through
Django's cursor pays for the connection proxy, the cursor wrapper, the placeholder rewrite
and each field's get_db_prep_save: together several times what SQLite takes to run it. The
token issuance path runs about ten statements while it holds SQLite's one write lock, so
those statements come through here instead.

What stays the same as the ORM: the SQL is rendered from the models' own table and column
names (per database vendor), every value is stored exactly as the field would store it
(`adapter` falls back to the field's own get_db_prep_save for any type it does not know,
and tests/nhiportal/test_prepared_sql.py checks the known ones against the field), and
driver errors arrive as django.db errors. When queries are being logged (DEBUG, or a test
counting queries) statements go through Django's cursor, so they are seen like any other.
"""

import json
import threading
import uuid
from contextlib import contextmanager
from datetime import timezone as dt_timezone
from functools import lru_cache

from django.conf import settings
from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import ForeignKey
from django.dispatch import receiver

# Types whose stored form is the Python value itself, on every backend we support.
_AS_IS = {
    "AutoField", "BigAutoField", "SmallAutoField", "BigIntegerField", "BooleanField", "CharField",
    "FloatField", "IntegerField", "PositiveBigIntegerField", "PositiveIntegerField",
    "PositiveSmallIntegerField", "SlugField", "SmallIntegerField", "TextField",
}


_pinned = threading.local()


def db():
    """The default connection itself: `django.db.connection` is a proxy that looks the
    thread's connection up again on every attribute (several microseconds each time), and
    even `connections[alias]` goes through asgiref's context-aware local."""
    connection = getattr(_pinned, "connection", None)
    return connection if connection is not None else connections[DEFAULT_DB_ALIAS]


@contextmanager
def pinned():
    """While inside, db() answers this thread's default connection from a plain thread-local.

    For one request's hot path, which asks for the connection a dozen times. Only the
    lookup is remembered, and only until the block ends: the next request (or a test's live
    server thread) looks its own connection up again.
    """
    outer = getattr(_pinned, "connection", None)
    _pinned.connection = connection = connections[DEFAULT_DB_ALIAS]
    try:
        yield connection
    finally:
        _pinned.connection = outer


# The last datetime stored and its text: a token's rows carry the same instant several times
# (the task opened, the token issued, the decision made), and formatting is the cost.
_last_datetime: tuple = (None, None)


def _sqlite_datetime(value):
    # As django.db.backends.sqlite3's adapt_datetimefield_value: naive UTC, as text.
    global _last_datetime
    if value is None:
        return None
    last, text = _last_datetime
    if value is last:
        return text
    original = value
    if value.tzinfo is not None:
        if value.tzinfo is not dt_timezone.utc:
            value = value.astimezone(dt_timezone.utc)
        value = value.replace(tzinfo=None)
    text = str(value)
    _last_datetime = (original, text)
    return text


def _sqlite_uuid(value):
    if value is None:
        return None
    return (value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))).hex


def _native_uuid(value):
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


def _as_is(value):
    return value


@lru_cache(maxsize=None)
def adapter(model, name: str, vendor: str):
    """A function turning a Python value into what the field stores, for one vendor."""
    field = model._meta.get_field(name)
    target = field.target_field if isinstance(field, ForeignKey) else field
    kind = target.get_internal_type()
    if kind in _AS_IS:
        return _as_is
    if kind == "UUIDField":
        return _sqlite_uuid if vendor == "sqlite" else _native_uuid
    if kind == "DateTimeField" and vendor == "sqlite":
        return _sqlite_datetime
    if kind == "DateTimeField" and vendor == "postgresql":
        return _as_is  # psycopg stores an aware datetime as timestamptz itself
    if kind == "JSONField" and vendor == "sqlite":
        # What the backend's adapt_json_value does (json.dumps(value, cls=encoder)), with one
        # encoder kept rather than a new one built per value: encoders hold only settings.
        encode = (field.encoder or json.JSONEncoder)().encode

        def _json(value):
            return None if value is None else encode(value)

        return _json

    def _field(value):
        return field.get_db_prep_save(value, db())

    return _field


@lru_cache(maxsize=256)
def _adapters(model, names: tuple, vendor: str) -> tuple:
    """adapter() of each column in `names`, None where the stored form is the value itself."""
    return tuple(None if (found := adapter(model, name, vendor)) is _as_is else found for name in names)


def params(model, values: dict, vendor: str) -> list:
    # One cache lookup per row rather than one per column, and no call at all for the many
    # columns stored as they are: an issued token's five rows have sixty-odd columns.
    return [
        value if adapt is None else adapt(value)
        for adapt, value in zip(_adapters(model, tuple(values), vendor), values.values())
    ]


def quote(name: str) -> str:
    return db().ops.quote_name(name)


def columns(model, names) -> str:
    return ", ".join(quote(model._meta.get_field(n).column) for n in names)


def table(model) -> str:
    return quote(model._meta.db_table)


@lru_cache(maxsize=256)
def _driver_sql(sql: str, vendor: str) -> str:
    # Statements are written with Django's %s placeholders; sqlite3 itself takes ?.
    return sql.replace("%s", "?") if vendor == "sqlite" else sql


# settings.DEBUG, read once rather than by connection.queries_logged on every statement (a
# lookup on Django's lazy settings object costs a Python-level __getattribute__ each time).
_debug: bool | None = None


@receiver(setting_changed)
def _forget_debug(*, setting, **kwargs):
    global _debug
    if setting == "DEBUG":
        _debug = None


def _queries_logged(connection) -> bool:
    """connection.queries_logged: DEBUG, or a test capturing queries (force_debug_cursor)."""
    global _debug
    if _debug is None:
        _debug = settings.DEBUG
    return connection.force_debug_cursor or _debug


def execute(sql: str, values, connection=None) -> list[tuple]:
    """Run one statement (with %s placeholders); return its rows, if any."""
    connection = connection or db()
    with connection.wrap_database_errors:
        if _queries_logged(connection):
            cursor = connection.cursor()
        else:
            if connection.connection is None:
                connection.ensure_connection()
            cursor = connection.connection.cursor()
            sql = _driver_sql(sql, connection.vendor)
        try:
            cursor.execute(sql, values)
            return cursor.fetchall() if cursor.description else []
        finally:
            cursor.close()


@lru_cache(maxsize=64)
def _insert_sql(model, names: tuple, vendor: str, returning: bool) -> str:
    placeholders = ", ".join(["%s"] * len(names))
    sql = f"INSERT INTO {table(model)} ({columns(model, names)}) VALUES ({placeholders})"
    if returning:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    return sql


class Insert:
    """One row's INSERT with its values already in stored form.

    Preparing the values (JSON, UUIDs, datetimes) costs more than SQLite takes to insert the
    row, so a caller that holds a lock while it writes prepares its rows before taking it and
    runs them inside. `late` values, given to run(), are the columns only known then (an audit
    event's place in the chain)."""

    __slots__ = ("model", "names", "params", "vendor")

    def __init__(self, model, values: dict):
        self.model, self.names = model, tuple(values)
        self.vendor = db().vendor
        self.params = params(model, values, self.vendor)

    def run(self, connection=None, *, returning: bool = False, **late):
        """Execute it (on a connection of the vendor it was prepared for); with returning, give the new auto id."""
        connection = connection or db()
        names, values = self.names, self.params
        if late:
            names, values = names + tuple(late), values + params(self.model, late, self.vendor)
        rows = execute(_insert_sql(self.model, names, self.vendor, returning), values, connection)
        return rows[0][0] if returning else None


def insert(model, **values) -> None:
    """INSERT one row. No model defaults are applied: give every column but an auto id."""
    Insert(model, values).run()
