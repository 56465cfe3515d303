"""What the database plans for a query: which index it answers from, and whether it sorts."""

from django.db import connection


def plan_of(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # With sequential scans off, the planner shows which index it can answer from.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return " ".join(str(row[-1]) for row in cursor.fetchall())


def sorts(plan: str) -> bool:
    """A sort of the rows (SQLite's temporary b-tree, PostgreSQL's Sort node)."""
    return "Sort" in plan or "TEMP B-TREE" in plan
