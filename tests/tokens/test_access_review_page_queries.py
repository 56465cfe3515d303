"""One access review round's page shows its grants a page at a time, with a fixed number of
questions however many grants the round holds, and a decision made on a later page returns there."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tokens.access_reviews import access_review_launch

LIST = "/access-reviews/"


def queries(client, url) -> int:
    client.get(url)  # warm per-process caches (content types, the session)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def round_over(make_agent, bob, crm, grant, rita, count, start=0):
    """A round over the CRM's live grants, once `count` more agents hold one."""
    for n in range(start, start + count):
        grant(make_agent(bob, name=f"agent-{n:03d}"), crm, ["tickets:read"])
    return access_review_launch(actor=rita, name="Yearly CRM access", due=timezone.localdate() + timedelta(days=14), service=crm)


@pytest.mark.parametrize("persona", ["rita", "carol", "sam"])
def test_the_access_review_page_runs_as_many_queries_for_30_grants_as_for_1(
    persona, request, make_agent, bob, crm, grant, rita, client_for, django_assert_max_num_queries
):
    client = client_for(request.getfixturevalue(persona))
    small = round_over(make_agent, bob, crm, grant, rita, 1)
    few = queries(client, f"{LIST}{small.pk}/")
    large = round_over(make_agent, bob, crm, grant, rita, 29, start=1)  # all 30 live grants of the CRM
    with django_assert_max_num_queries(few):
        response = client.get(f"{LIST}{large.pk}/")
    assert [i.grant.identity.name for i in response.context["items"]] == [f"agent-{n:03d}" for n in range(25)]
    assert "0 kept, 0 revoked, 30 waiting, of 30." in response.content.decode()
    last = client.get(f"{LIST}{large.pk}/", {"page": 2}).context["items"]
    assert [i.grant.identity.name for i in last] == [f"agent-{n:03d}" for n in range(25, 30)]


def test_a_decision_on_a_later_page_of_the_round_returns_to_that_page(make_agent, bob, crm, grant, rita, client_for):
    review = round_over(make_agent, bob, crm, grant, rita, 30)
    client = client_for(rita)
    page = client.get(f"{LIST}{review.pk}/", {"page": 2})
    item = page.context["items"][0]
    action = f"/access-reviews/{review.pk}/items/{item.pk}/decide/?page=2"
    assert f'action="{action}"' in page.content.decode()
    response = client.post(action, {"decision": "keep"})
    assert response.status_code == 302 and response.url == f"{LIST}{review.pk}/?page=2"
    assert review.items.get(pk=item.pk).decision == "keep"
    ticked = [i.pk for i in page.context["items"][1:]]
    response = client.post(f"{LIST}{review.pk}/keep/?page=2", {"item": ticked})
    assert response.status_code == 302 and response.url == f"{LIST}{review.pk}/?page=2"
    assert review.items.filter(decision="keep").count() == 5
