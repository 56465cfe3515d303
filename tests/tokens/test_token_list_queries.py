"""The tokens list reads a page of a ledger that holds hundreds of thousands of rows: as many
queries for 30 tokens as for 1, and its first page off an index in ledger order, not by
sorting the ledger."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.tokens.test_credential_last_token_index import plan_of
from tokens.filters import IssuedTokenFilter
from tokens.issued_tokens import issued_token_list
from tokens.selectors import visible_identities

from .test_grant_list_queries import fetch


def queries(client, url) -> int:
    fetch(client, url)  # warm per-process caches (content types, the session)
    with CaptureQueriesContext(connection) as captured:
        fetch(client, url)
    return len(captured)


@pytest.mark.parametrize("persona", ["alice", "carol", "sam"])
@pytest.mark.parametrize("url", ["/tokens/", "/tokens/?state=all&dpop=false", "/tokens/export.csv?state=all", "/api/v1/tokens/"])
def test_the_tokens_list_runs_as_many_queries_for_30_tokens_as_for_1(
    persona, url, request, alice, make_agent, get_token, client_for, django_assert_max_num_queries
):
    client = client_for(request.getfixturevalue(persona))
    agents = [make_agent(alice, name=f"agent-{n}") for n in range(5)]
    get_token(agents[0])
    few = queries(client, url)
    for n in range(29):
        get_token(agents[n % 5])
    with django_assert_max_num_queries(few):
        response = fetch(client, url)
    if "export" not in url and "api" not in url:
        assert len(response.context["tokens"]) == 25  # a whole page, each row with its identity and service
        assert {t.identity.name for t in response.context["tokens"]} == {f"agent-{n}" for n in range(5)}


def _first_page_plan(user, state, **data) -> str:
    found = IssuedTokenFilter(data, queryset=issued_token_list(user=user, state=state), identities=visible_identities(user))
    return plan_of(found.qs[:25])


SORTED = ("TEMP B-TREE", "Sort")


@pytest.mark.parametrize("state, index", [("all", "pkey"), ("expired", "expires_at"), ("revoked", "token_revoked_idx")])
def test_a_tab_of_the_whole_ledger_is_read_off_its_index(db, sam, state, index):
    plan = _first_page_plan(sam, state)
    if connection.vendor == "sqlite":
        # SQLite's planner reads the index in the page's order: no sort at all.
        assert not any(word in plan for word in SORTED), plan
    else:
        # PostgreSQL weighs an empty test ledger (a sort of nothing is cheap): it must still find
        # the tab's rows through its index, which holds them in the page's order.
        assert index in plan, plan


def test_the_live_tab_finds_its_rows_by_expiry_and_sorts_only_them(db, sam):
    assert "expires_at" in _first_page_plan(sam, "live")


def test_one_identitys_tokens_are_read_off_its_index_in_order(db, sam, alice, make_identity):
    identity = make_identity(alice, name="busy-agent")
    plan = _first_page_plan(sam, "all", identity=identity.name)
    assert "token_identity_idx" in plan and not any(word in plan for word in SORTED)
