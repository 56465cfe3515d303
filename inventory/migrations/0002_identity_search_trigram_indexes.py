"""Trigram indexes for the identity list's search, on PostgreSQL only.

The search (IdentityFilter.filter_search) is `icontains` on name, purpose and trust
boundary, which Django writes as UPPER(column) LIKE UPPER('%term%'): a full scan, and
with a locale-aware UPPER it cost ~150 ms per scan at 50,000 identities. GIN trigram
indexes on exactly those expressions answer it from the index. SQLite has no such index
and scans fast enough; where pg_trgm cannot be installed the search still works, unindexed.
"""

from django.db import DatabaseError, migrations, transaction

TABLE = "inventory_aiidentity"
# (index name, the expression Django's icontains compares, as it writes it)
INDEXES = [
    ("identity_name_trgm", 'UPPER("name"::text)'),
    ("identity_purpose_trgm", 'UPPER("purpose")'),
    ("identity_boundary_trgm", 'UPPER("trust_boundary"::text)'),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError:
        return  # no right to install it: the search stays correct, only slower
    for name, expression in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} USING gin (({expression}) gin_trgm_ops)")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
