"""The pages ask the database a fixed number of questions, however many identities, owners or events there are."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.services import identity_activate, identity_owners_set, identity_update
from nhiportal.people.roles import OWNER
from tests.conftest import _person

LIST = reverse("inventory:identity-list")


def query_count(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(captured)


def people(count, start=0):
    """Owners: only people with the owner (or security admin) role are made owners."""
    return [_person(f"person-{n}", OWNER) for n in range(start, start + count)]


def add_identities(owner, make_identity, count, start):
    for n in range(start, start + count):
        identity = make_identity(owner, name=f"agent-{n:03d}", backups=people(2, start=2 * n))
        if n % 2:
            identity_activate(actor=owner, identity=identity)


@pytest.mark.parametrize("persona", ["alice", "rita", "sam"])
@pytest.mark.parametrize("params", [{}, {"q": "agent", "status": "active", "orphaned": "false", "sort": "-created"}])
def test_the_list_page_does_not_query_per_identity(persona, params, request, alice, client_for, make_identity):
    client = client_for(request.getfixturevalue(persona))
    add_identities(alice, make_identity, 3, start=0)
    client.get(LIST)  # warm per-process caches (content types)
    few = query_count(client, LIST, params)
    add_identities(alice, make_identity, 27, start=3)
    assert query_count(client, LIST, params) == few


@pytest.mark.parametrize("persona", ["alice", "carol", "sam"])
def test_the_identity_page_does_not_query_per_owner_or_event(persona, request, alice, client_for, make_identity):
    client = client_for(request.getfixturevalue(persona))
    identity = make_identity(alice, backups=people(3))
    identity = identity_activate(actor=alice, identity=identity)
    page = reverse("inventory:identity-detail", args=[identity.pk])
    for n in range(3):
        identity = identity_update(actor=alice, identity=identity, expected_version=identity.version, purpose=f"Purpose {n}")
    client.get(page)
    few = query_count(client, page)
    identity_owners_set(
        actor=alice, identity=identity, primary_owner=alice, backup_owners=people(30, start=100), expected_version=identity.version
    )
    identity.refresh_from_db()
    for n in range(30):
        identity = identity_update(actor=alice, identity=identity, expected_version=identity.version, purpose=f"More {n}")
    assert query_count(client, page) == few


@pytest.mark.parametrize("persona", ["alice", "sam"])
def test_the_dashboard_does_not_query_per_identity(persona, request, alice, client_for, make_identity):
    client = client_for(request.getfixturevalue(persona))
    add_identities(alice, make_identity, 3, start=0)
    client.get("/")
    few = query_count(client, "/")
    add_identities(alice, make_identity, 27, start=3)
    assert query_count(client, "/") == few


@pytest.mark.postgres("trigram indexes are PostgreSQL's; SQLite scans")
def test_the_search_reads_trigram_indexes_on_postgresql(sam, alice, client_for, make_identity):
    make_identity(alice, name="invoice-reader", credential=False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'inventory_aiidentity' AND indexname LIKE '%%trgm'")
        assert {row[0] for row in cursor.fetchall()} == {"identity_name_trgm", "identity_purpose_trgm", "identity_boundary_trgm"}
        # With sequential scans off, the planner can answer the search only from those indexes.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM inventory_aiidentity WHERE UPPER(name::text) LIKE UPPER(%s) OR UPPER(purpose) LIKE UPPER(%s)",
            ["%invoice%", "%invoice%"],
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "identity_name_trgm" in plan and "identity_purpose_trgm" in plan
    assert [i.name for i in client_for(sam).get(LIST, {"q": "INVOICE"}).context["identities"]] == ["invoice-reader"]
