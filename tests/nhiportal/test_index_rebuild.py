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
