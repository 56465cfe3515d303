"""Running one migration again over rows made by today's code, as an upgrade from the version
before it would: the app is taken back to `before`, forward to `migration`, then to the latest."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def upgrade(app: str, before: str, migration: str) -> None:
    """Arrange with today's code, then call this: `migration` runs over what the arrangement left
    (rows as a version without it kept them), and every app ends at its latest migration again."""
    try:
        MigrationExecutor(connection).migrate([(app, before)])
        MigrationExecutor(connection).migrate([(app, migration)])
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
