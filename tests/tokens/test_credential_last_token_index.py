"""A credential's last token (the credentials list and panel show it for every row) is one
index entry away: the ledger is read neither in full nor sorted, however busy the agent."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.query_plans import plan_of, sorts
from tokens.models import IssuedToken, WorkloadCredential
from tokens.selectors import with_last_token_at


def test_the_last_token_of_a_credential_is_read_off_its_index_without_a_sort(db):
    latest = IssuedToken.objects.filter(credential_id=1).order_by("-id").values("issued_at")[:1]
    plan = plan_of(latest)
    assert "token_credential_idx" in plan
    assert not sorts(plan)


def test_the_credentials_pages_ask_for_it_that_way(db):
    plan = plan_of(with_last_token_at(WorkloadCredential.objects.all()))
    assert "token_credential_idx" in plan


def _indexes_on_credential() -> dict:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, IssuedToken._meta.db_table)
    return {name: c["columns"] for name, c in constraints.items() if c["index"] and c["columns"][:1] == ["credential_id"]}


@pytest.mark.django_db(transaction=True)
def test_the_migration_swaps_the_foreign_keys_index_in_place_and_back():
    """Built beside issuance and without copying the ledger: the new index first, then the old
    one dropped; migrating back restores the foreign key's own index."""
    before, after = [("tokens", "0039_issuedtoken_platform_token_key")], [("tokens", "0040_issuedtoken_credential_latest_idx")]
    assert _indexes_on_credential() == {"token_credential_idx": ["credential_id", "id"]}
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(before)
        [(old_name, old_columns)] = _indexes_on_credential().items()
        assert old_columns == ["credential_id"] and old_name != "token_credential_idx"
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        assert _indexes_on_credential() == {"token_credential_idx": ["credential_id", "id"]}
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
