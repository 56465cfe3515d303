"""nhiportal/index_rebuild.py: tokens 0046 and policy 0007 turn the identity indexes to ascend
in time, forwards and back, on either database (on PostgreSQL through CONCURRENTLY, outside
any transaction), and each index is the one the models name when they end."""

import pytest
from django.db import connection

from tests.upgrades import upgrade

INDEXES = {
    "token_identity_idx": ("tokens_issuedtoken", "issued_at"),
    "task_identity_idx": ("tokens_task", "opened_at"),
    "decision_identity_idx": ("policy_policydecision", "at"),
}


def _definitions() -> dict[str, str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)", [list(INDEXES)])
        else:
            cursor.execute(f"SELECT name, sql FROM sqlite_master WHERE name IN ({', '.join(['%s'] * len(INDEXES))})", list(INDEXES))
        return {name: " ".join(definition.replace('"', "").split()) for name, definition in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_the_identity_indexes_ascend_after_the_upgrade_and_descend_before_it():
    upgrade("tokens", "0045_canonical_key_thumbprints", "0045_canonical_key_thumbprints")
    # upgrade() ends at the latest migrations: the ascending indexes, each under its own name only.
    definitions = _definitions()
    assert set(definitions) == set(INDEXES)
    for name, (table, column) in INDEXES.items():
        assert f"{table}" in definitions[name] and definitions[name].endswith(f"(identity_id, {column})"), definitions[name]


@pytest.mark.django_db(transaction=True)
def test_going_back_restores_the_descending_indexes():
    from django.db.migrations.executor import MigrationExecutor

    try:
        MigrationExecutor(connection).migrate([("tokens", "0045_canonical_key_thumbprints"), ("policy", "0006_decision_order_tie_break")])
        definitions = _definitions()
        assert set(definitions) == set(INDEXES)
        for name, (table, column) in INDEXES.items():
            assert definitions[name].endswith(f"(identity_id, {column} DESC)"), definitions[name]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def _task_opened_index() -> str | None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT i.indexdef, x.indisvalid FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname "
                "JOIN pg_index x ON x.indexrelid = c.oid WHERE i.indexname = 'task_opened_idx'"
            )
            row = cursor.fetchone()
            assert row is None or row[1], "left invalid by its concurrent build"
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'task_opened_idx'")
            row = cursor.fetchone()
    return " ".join(row[0].replace('"', "").split()) if row else None


@pytest.mark.django_db(transaction=True)
def test_tokens_0047_builds_the_task_index_and_going_back_drops_it():
    from django.db.migrations.executor import MigrationExecutor

    try:
        MigrationExecutor(connection).migrate([("tokens", "0046_identity_indexes_ascending")])
        assert _task_opened_index() is None
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert _task_opened_index().endswith("(opened_at, id)")
