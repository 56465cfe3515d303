"""Exchange chains and task trees, walked in SQL.

A token exchanged from another names it as its parent, and the task the exchange opened names
the subject token's task as its parent: what ending some access takes runs down both. The
confirmation previews (tokens/ending_previews) count what a Walk names and the revocations
(tokens/revocation) update it, so the two name the same rows.
"""

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL


def rows(name: str) -> RawSQL:
    """The ids of a set named in the same Walk, for a query the walk runs (its sets or counts)."""
    return RawSQL(f"SELECT id FROM {name}", [])


def _select(queryset: QuerySet) -> tuple[str, list]:
    try:
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # e.g. pk__in an empty list: Django refuses to write that query
        table = connection.ops.quote_name(queryset.model._meta.db_table)
        return f"SELECT id FROM {table} WHERE 1 = 0", []
    return sql, list(params)


class Walk:
    """Named sets of rows, each an ORM query (which may name the sets before it) or that query
    and every row under it by parent, read in one statement of common table expressions.
    Kept in SQL, never a list of ids: a busy credential's live tokens run to tens of thousands,
    more than PostgreSQL binds in one statement (65,535). Named, not nested: SQLite's parser
    refuses subqueries nested a few levels deeper than one walk needs."""

    def __init__(self):
        self.parts, self.params = [], []

    def _add(self, name: str, queryset: QuerySet, step: str | None = None) -> str:
        sql, params = _select(queryset)
        body = f"SELECT * FROM ({sql}) AS seed"
        if step is not None:
            # UNION reaches each row once; each row has one parent, so the walk ends.
            table = connection.ops.quote_name(queryset.model._meta.db_table)
            where = f" WHERE {step}" if step else ""
            body += f" UNION SELECT child.id FROM {table} AS child JOIN {name} ON child.parent_id = {name}.id{where}"
        self.parts.append(f"{name}(id) AS ({body})")
        self.params.extend(params)
        return name

    def set(self, name: str, queryset: QuerySet) -> str:
        return self._add(name, queryset)

    def down(self, name: str, seed: QuerySet, *, step: str = "") -> str:
        """seed and every row under it whose own columns meet `step` (SQL on `child`)."""
        return self._add(name, seed, step)

    def ids(self, name: str) -> RawSQL:
        """The ids of a set named here, for a query of its own (`pk__in`): the walk is read
        again within that statement, before it writes anything."""
        return RawSQL(f"WITH RECURSIVE {', '.join(self.parts)} SELECT id FROM {name}", list(self.params))

    def counts(self, *querysets: QuerySet) -> list[int]:
        selects, params = [], list(self.params)
        for queryset in querysets:
            sql, more = _select(queryset)
            selects.append(f"(SELECT COUNT(*) FROM ({sql}) AS counted)")
            params.extend(more)
        with connection.cursor() as cursor:
            cursor.execute(f"WITH RECURSIVE {', '.join(self.parts)} SELECT {', '.join(selects)}", params)
            return list(cursor.fetchone())
