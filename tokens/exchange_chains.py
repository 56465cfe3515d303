"""Exchange chains and task trees, walked in SQL.

A token exchanged from another names it as its parent, and the task the exchange opened names
the subject token's task as its parent: what ending some access takes runs down both. The
confirmation previews (tokens/ending_previews) count what a Walk names and the revocations
(tokens/revocation) update it, so the two name the same rows.
"""

from contextlib import contextmanager
from itertools import count

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
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


@contextmanager
def planned_plainly():
    """Run a Walk's statements with PostgreSQL's JIT compilation off, then set it back.

    The planner guesses a recursive walk ten times the size of its seed at each step, so even
    the walk of one token's chain is costed past jit_above_cost, and compiling it took a
    second or two of each statement that reads a walk (a single revocation reads five) to
    save nothing: what it reads is a few index lookups. Off for these statements only,
    then as it was (set_config's `true`: for this transaction at most)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit')")
        (was,) = cursor.fetchone()
        cursor.execute("SELECT set_config('jit', 'off', true)")
        yield
        cursor.execute("SELECT set_config('jit', %s, true)", [was])


class Walk:
    """Named sets of rows, each an ORM query (which may name the sets before it) or that query
    and every row under it by parent, read in one statement of common table expressions.
    Kept in SQL, never a list of ids: a busy credential's live tokens run to tens of thousands,
    more than PostgreSQL binds in one statement (65,535). Named, not nested: SQLite's parser
    refuses subqueries nested a few levels deeper than one walk needs."""

    def __init__(self):
        self.parts, self.params, self.models = [], [], {}

    def _add(self, name: str, queryset: QuerySet, step: str | None = None) -> str:
        sql, params = _select(queryset)
        self.models[name] = queryset.model
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

    # Sets joined and taken apart by UNION and EXCEPT, not by `IN a OR IN b` or `NOT IN a`:
    # PostgreSQL plans those as a subquery per row, unhashed once it expects a recursive walk
    # too large for work_mem, so an emergency's walk of every live token scanned the walk
    # again for each row of the ledger (hours, not seconds).
    def either(self, name: str, *names: str) -> str:
        """The rows of any of these sets named here."""
        self.parts.append(f"{name}(id) AS ({' UNION '.join(f'SELECT id FROM {part}' for part in names)})")
        self.models[name] = self.models[names[0]]
        return name

    def but(self, name: str, kept: str, left_out: str) -> str:
        """The rows of set `kept` that are not in set `left_out` (both named here)."""
        self.parts.append(f"{name}(id) AS (SELECT id FROM {kept} EXCEPT SELECT id FROM {left_out})")
        self.models[name] = self.models[kept]
        return name

    def ids(self, name: str) -> RawSQL:
        """The ids of a set named here, for a query of its own (`pk__in`): the walk is read
        again within that statement, before it writes anything."""
        return RawSQL(f"WITH RECURSIVE {', '.join(self.parts)} SELECT id FROM {name}", list(self.params))

    @contextmanager
    def read_once(self, *names: str):
        """Read these sets (named here) in one statement into a temporary table, and yield what
        names them there (Read.ids), until the block ends: the statements that then write each
        read what the walk found before any of them wrote, without walking again. On
        PostgreSQL each walk is a hash join over the whole ledger at every step, whatever it
        reaches, so walking once where a revocation walked three times is most of its time.
        Inside a savepoint, so a failed statement takes the table with it. Not for a read-only
        transaction (the table is created)."""
        table = f"walked_{next(_tables)}"
        types = {name: self.models[name]._meta.pk.rel_db_type(connection) for name in names}
        columns = ", ".join(f"{name} {kind} NULL" for name, kind in types.items())
        selects = " UNION ALL ".join(
            f"SELECT {', '.join('id' if other == name else f'CAST(NULL AS {kind})' for other, kind in types.items())}"
            f" FROM {name}"
            for name in names
        )
        with planned_plainly(), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {table} ({columns})")
            cursor.execute(f"WITH RECURSIVE {', '.join(self.parts)} INSERT INTO {table} ({', '.join(names)}) {selects}", list(self.params))
            if connection.vendor == "postgresql":
                # Unanalysed, it is planned as 200 rows a set: an emergency's hundred thousand
                # were then looked up one by one, not hashed.
                cursor.execute(f"ANALYZE {table}")
            yield Read(table)
            cursor.execute(f"DROP TABLE {table}")

    def counts(self, *querysets: QuerySet) -> list[int]:
        selects, params = [], list(self.params)
        for queryset in querysets:
            sql, more = _select(queryset)
            selects.append(f"(SELECT COUNT(*) FROM ({sql}) AS counted)")
            params.extend(more)
        with planned_plainly(), connection.cursor() as cursor:
            cursor.execute(f"WITH RECURSIVE {', '.join(self.parts)} SELECT {', '.join(selects)}", params)
            return list(cursor.fetchone())


_tables = count()  # each read_once its own table: two in one transaction never meet


class Read:
    """Sets of a Walk read into a temporary table (Walk.read_once)."""

    def __init__(self, table: str):
        self.table = table

    def ids(self, name: str) -> RawSQL:
        """The ids of a set read, for a query of its own (`pk__in`)."""
        return RawSQL(f"SELECT {name} FROM {self.table} WHERE {name} IS NOT NULL", [])
