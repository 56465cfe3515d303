"""A credential's last token (the credentials list and panel show it for every row) is one
index entry away: the ledger is read neither in full nor sorted, however busy the agent."""

from django.db import connection

from tokens.models import IssuedToken, WorkloadCredential
from tokens.selectors import with_last_token_at


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


def test_the_last_token_of_a_credential_is_read_off_its_index_without_a_sort(db):
    latest = IssuedToken.objects.filter(credential_id=1).order_by("-id").values("issued_at")[:1]
    plan = plan_of(latest)
    assert "token_credential_idx" in plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan


def test_the_credentials_pages_ask_for_it_that_way(db):
    plan = plan_of(with_last_token_at(WorkloadCredential.objects.all()))
    assert "token_credential_idx" in plan
