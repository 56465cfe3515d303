"""The grants list and its export name who granted each grant without a query per grant."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from nhiportal.audit.services import system_actor
from nhiportal.people.roles import SECURITY_ADMIN
from nhiportal.people.services import role_assign
from tokens.services import grant_create


def fetch(client, url):
    response = client.get(url)
    assert response.status_code == 200
    if response.streaming:
        b"".join(response.streaming_content)  # an export reads its rows while it streams
    return response


def queries(client, url) -> int:
    fetch(client, url)  # warm per-process caches (content types, the session)
    with CaptureQueriesContext(connection) as captured:
        fetch(client, url)
    return len(captured)


def grant_to_new_agents(alice, make_identity, crm, count, start=0):
    """Each grant given by a security admin of its own, as happens over the years."""
    for n in range(start, start + count):
        admin = get_user_model().objects.create_user(username=f"admin-{n:03d}")
        role_assign(user=admin, role=SECURITY_ADMIN, actor=system_actor("tests"))
        grant_create(
            actor=admin, identity=make_identity(alice, name=f"agent-{n:03d}"), service=crm, scopes=["tickets:read"],
            ends_at=timezone.now() + timedelta(days=30), justification="tests",
        )


@pytest.mark.parametrize("persona", ["alice", "carol", "sam"])
@pytest.mark.parametrize("url", ["/grants/", "/grants/?state=all", "/grants/export.csv"])
def test_the_grant_list_runs_as_many_queries_for_30_grants_as_for_1(
    persona, url, request, alice, crm, make_identity, client_for, django_assert_max_num_queries
):
    client = client_for(request.getfixturevalue(persona))
    grant_to_new_agents(alice, make_identity, crm, 1)
    few = queries(client, url)
    grant_to_new_agents(alice, make_identity, crm, 29, start=1)
    with django_assert_max_num_queries(few):
        response = fetch(client, url)
    if not response.streaming:
        shown = response.context["grants"]
        assert len(shown) == 25 and {g.granted_by.username for g in shown} <= {f"admin-{n:03d}" for n in range(30)}
