"""A migration operation that replaces an index by another of the same name without stopping
the portal on PostgreSQL.

Django's RemoveIndex and AddIndex run in the migration's transaction: on PostgreSQL, DROP
INDEX holds the table's strongest lock until the new index is built, so on a large token
ledger issuance, introspection and revocation would wait for the whole rebuild (and every
query queued behind a DROP waiting for a long read). Here, on PostgreSQL, the new index is
built CONCURRENTLY under a passing name, the old one dropped CONCURRENTLY, and the new one
renamed (a brief lock): reads and writes go on throughout. Elsewhere (SQLite, one writer,
no such locks) it is a plain drop and create.
"""

from django.db.migrations.operations.base import Operation


class RebuildIndex(Operation):
    atomic = False  # CONCURRENTLY runs outside any transaction; the migration says atomic = False too
    reversible = True

    def __init__(self, model_name: str, old, new):
        self.model_name, self.old, self.new = model_name, old, new

    def deconstruct(self):
        return self.__class__.__qualname__, [], {"model_name": self.model_name, "old": self.old, "new": self.new}

    def state_forwards(self, app_label, state):
        state.remove_index(app_label, self.model_name.lower(), self.old.name)
        state.add_index(app_label, self.model_name.lower(), self.new)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._replace(app_label, schema_editor, to_state, self.old, self.new)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._replace(app_label, schema_editor, to_state, self.new, self.old)

    def describe(self):
        return f"Rebuild index {self.new.name} on {self.model_name} as ({', '.join(self.new.fields)})"

    def _replace(self, app_label, schema_editor, state, old, new):
        model = state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor != "postgresql":
            schema_editor.remove_index(model, old)
            schema_editor.add_index(model, new)
            return
        building = new.clone()
        building.name = f"{new.name}_rebuilt"
        _build_concurrently(schema_editor, model, building)
        schema_editor.remove_index(model, old, concurrently=True)
        quote = schema_editor.quote_name
        schema_editor.execute(f"ALTER INDEX {quote(building.name)} RENAME TO {quote(new.name)}")


def _build_concurrently(schema_editor, model, index) -> None:
    """On PostgreSQL, beside reads and writes. A build interrupted before (CONCURRENTLY leaves an
    invalid index behind) is cleared first, so running `migrate` again redoes it."""
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(index.name)}")
    schema_editor.add_index(model, index, concurrently=True)


class BuildIndex(Operation):
    """A new index, built on PostgreSQL CONCURRENTLY (a plain AddIndex would hold writes to the
    table, so token issuance, for the whole build); elsewhere a plain create."""

    atomic = False  # as RebuildIndex's: the migration says atomic = False too
    reversible = True

    def __init__(self, model_name: str, index):
        self.model_name, self.index = model_name, index

    def deconstruct(self):
        return self.__class__.__qualname__, [], {"model_name": self.model_name, "index": self.index}

    def state_forwards(self, app_label, state):
        state.add_index(app_label, self.model_name.lower(), self.index)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor != "postgresql":
            schema_editor.add_index(model, self.index)
            return
        _build_concurrently(schema_editor, model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        concurrently = {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}
        schema_editor.remove_index(model, self.index, **concurrently)

    def describe(self):
        return f"Build index {self.index.name} on {self.model_name} as ({', '.join(self.index.fields)})"
