"""The ledger's credential index becomes (credential, -id): a credential's latest token is its
first entry. In place of the foreign key's own index, so issuance writes no more.

Done by hand rather than by AlterField + AddIndex, which on SQLite copy the whole token table
and on PostgreSQL re-check the foreign key and build the index under a lock, holding token
issuance for seconds a million rows. Here the new index is built first (CONCURRENTLY on
PostgreSQL, beside issuance) and the old one dropped after: a quick drop on SQLite, a
concurrent one on PostgreSQL. The foreign key's constraint stays as it is.
"""

from django.db import migrations, models

NEW_INDEX = models.Index(fields=["credential", "-id"], name="token_credential_idx")


def _foreign_key_indexes(schema_editor, model) -> list[str]:
    """The indexes on credential_id alone: the foreign key's own, whatever Django named it."""
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, model._meta.db_table)
    return [
        name for name, c in constraints.items()
        if c["index"] and c["columns"] == ["credential_id"] and not c["primary_key"] and not c["unique"]
    ]


def _concurrently(schema_editor) -> str:
    return " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""


def forwards(apps, schema_editor):
    model = apps.get_model("tokens", "IssuedToken")
    concurrently = {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}
    schema_editor.execute(NEW_INDEX.create_sql(model, schema_editor, **concurrently))
    for name in _foreign_key_indexes(schema_editor, model):
        schema_editor.execute(f"DROP INDEX{_concurrently(schema_editor)} {schema_editor.quote_name(name)}")


def backwards(apps, schema_editor):
    model = apps.get_model("tokens", "IssuedToken")
    field = model._meta.get_field("credential")
    name = schema_editor._create_index_name(model._meta.db_table, [field.column], suffix="")
    schema_editor.execute(
        f"CREATE INDEX{_concurrently(schema_editor)} {schema_editor.quote_name(name)} "
        f"ON {schema_editor.quote_name(model._meta.db_table)} ({schema_editor.quote_name(field.column)})"
    )
    schema_editor.execute(f"DROP INDEX{_concurrently(schema_editor)} {schema_editor.quote_name(NEW_INDEX.name)}")


class Migration(migrations.Migration):
    # CREATE and DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ('inventory', '0017_identity_name_unique_any_case'),
        ('tokens', '0039_issuedtoken_platform_token_key'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='issuedtoken',
                    name='credential',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=models.deletion.SET_NULL, related_name='tokens', to='tokens.workloadcredential'),
                ),
                migrations.AddIndex(model_name='issuedtoken', index=NEW_INDEX),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
