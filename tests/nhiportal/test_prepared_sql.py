"""nhiportal/prepared_sql.py stores every value as the ORM would, and behaves like Django's cursor."""

import threading
import uuid
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from nhiportal import prepared_sql
from nhiportal.audit.models import AuditEvent
from tokens.models import IssuedToken, Task, UsedAssertion
from tokens.policy.models import PolicyDecision

HOT_PATH_MODELS = [IssuedToken, Task, UsedAssertion, PolicyDecision, AuditEvent]
SAMPLES = {
    "DateTimeField": [
        None,
        datetime(2026, 11, 28, 20, 15, 49, 771440, tzinfo=dt_timezone.utc),
        datetime(2026, 11, 28, 21, 0, tzinfo=dt_timezone(timedelta(hours=2))),  # not UTC, no microseconds
    ],
    "UUIDField": [None, uuid.UUID("0a8f3c52-4b7e-4a56-9d27-1f0f8e7f6a11"), "0a8f3c524b7e4a569d271f0f8e7f6a11"],
    "JSONField": [None, [], ["contacts:read"], {"exp": datetime(2026, 1, 1, tzinfo=dt_timezone.utc), "n": 1}],
    "CharField": ["", "token.issue"],
    "TextField": ["", "why"],
    "BooleanField": [True, False],
    "FloatField": [0.164],
    "PositiveSmallIntegerField": [None, 3],
    "BigAutoField": [None, 7],
    "BigIntegerField": [None, 7],
    "IntegerField": [None, 7],
}


def _cases():
    for model in HOT_PATH_MODELS:
        for field in model._meta.concrete_fields:
            target = field.target_field if field.is_relation else field
            for value in SAMPLES.get(target.get_internal_type(), []):
                if value is None and not field.null and not field.primary_key:
                    continue
                if isinstance(value, str) and target.get_internal_type() == "UUIDField" and not field.is_relation:
                    continue
                if isinstance(value, dict) and getattr(field, "encoder", None) is None:
                    continue  # a datetime in JSON needs the field's encoder; without one both refuse it
                yield pytest.param(model, field, value, id=f"{model._meta.label}.{field.attname}={value!r}")


@pytest.mark.django_db
@pytest.mark.parametrize("model,field,value", list(_cases()))
def test_it_adapts_each_value_exactly_as_the_field_would(model, field, value):
    expected = field.get_db_prep_save(value, connection)
    adapted = prepared_sql.adapter(model, field.attname, connection.vendor)(value)
    if type(expected).__name__ == "Jsonb":  # psycopg's wrapper has no equality: compare what it wraps
        expected, adapted = expected.obj, adapted.obj
    assert adapted == expected


@pytest.mark.django_db(transaction=True)
def test_it_writes_rows_the_orm_reads_back_unchanged():
    at = datetime(2026, 11, 28, 20, 15, 49, 771440, tzinfo=dt_timezone.utc)
    with transaction.atomic():
        decision = prepared_sql.Insert(
            PolicyDecision,
            dict(
                at=at, version=None, mode="enforce", action="issue", identity_id=uuid.uuid4(),
                service_id=None, request={"context": {"scopes": ["a"]}}, decision="allow", enforced="allow",
                policy_ids=["p1"], errors=[], eval_ms=0.25,
            ),
        )
        pk = decision.run(returning=True)
    row = PolicyDecision.objects.get(pk=pk)
    assert (row.at, row.request, row.policy_ids, row.eval_ms) == (at, {"context": {"scopes": ["a"]}}, ["p1"], 0.25)


@pytest.mark.django_db(transaction=True)
def test_it_raises_djangos_integrity_error_on_a_duplicate():
    expires = datetime(2030, 1, 1, tzinfo=dt_timezone.utc)
    prepared_sql.insert(UsedAssertion, key="k" * 64, expires_at=expires)
    with pytest.raises(IntegrityError):
        prepared_sql.insert(UsedAssertion, key="k" * 64, expires_at=expires)
    assert UsedAssertion.objects.count() == 1


@pytest.mark.django_db
def test_its_statements_show_in_the_query_log_when_queries_are_logged():
    with CaptureQueriesContext(connection) as queries:
        prepared_sql.insert(UsedAssertion, key="q" * 64, expires_at=datetime(2030, 1, 1, tzinfo=dt_timezone.utc))
    assert len(queries) == 1 and "INSERT INTO" in queries[0]["sql"]


@pytest.mark.django_db
def test_its_statements_show_in_the_query_log_once_debug_is_turned_on(settings):
    expires = datetime(2030, 1, 1, tzinfo=dt_timezone.utc)
    prepared_sql.insert(UsedAssertion, key="a" * 64, expires_at=expires)  # DEBUG off: not logged
    connection.queries_log.clear()
    settings.DEBUG = True
    prepared_sql.insert(UsedAssertion, key="b" * 64, expires_at=expires)
    assert [q["sql"] for q in connection.queries if "INSERT INTO" in q["sql"]]


def test_the_same_instant_is_stored_as_the_same_text_whatever_came_between():
    store = prepared_sql.adapter(IssuedToken, "issued_at", "sqlite")
    first = datetime(2026, 12, 1, 1, 2, 3, 456789, tzinfo=dt_timezone.utc)
    later = first + timedelta(seconds=1)
    assert store(first) == store(first) == "2026-12-01 01:02:03.456789"
    assert store(later) == "2026-12-01 01:02:04.456789"
    assert store(first) == "2026-12-01 01:02:03.456789"
    # An equal instant in another zone is stored in UTC too.
    assert store(first.astimezone(dt_timezone(timedelta(hours=2)))) == "2026-12-01 01:02:03.456789"


def test_a_pinned_connection_serves_only_its_thread_and_only_inside_the_block():
    other_thread = []
    with prepared_sql.pinned() as pinned:
        assert prepared_sql.db() is pinned is connections[DEFAULT_DB_ALIAS]
        worker = threading.Thread(target=lambda: other_thread.append(prepared_sql.db()))
        worker.start()
        worker.join()
    assert other_thread[0] is not pinned  # another thread looks up its own connection
    assert getattr(prepared_sql._pinned, "connection", None) is None
