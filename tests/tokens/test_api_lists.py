"""The token service's API lists: filters checked like the identities list's (a bad value is a
400 on its name, not ignored), pages like every other list, and a page of 30 rows costs no
more queries than a page of one."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tokens.access_reviews import access_review_launch
from tokens.credentials import credential_add_federated, credential_add_jwk
from tokens.delegations import delegation_create
from tokens.federation import federated_issuer_create
from tokens.services import service_create

from .conftest import new_private_key, public_jwk
from .test_federation import GITHUB, SUBJECT

API = "/api/v1/"


def assert_30_rows_cost_no_more_than_1(client, url, add_row, django_assert_max_num_queries):
    """add_row(n) adds the n-th row the list at url shows; the list's queries are counted with
    one row, then must not grow with thirty."""
    add_row(0)
    client.get(url)  # what any first request reads once (content types, the session)
    with CaptureQueriesContext(connection) as one:
        first = client.get(url)
    assert first.status_code == 200 and first.json()["count"] == 1, first.content
    for n in range(1, 30):
        add_row(n)
    with django_assert_max_num_queries(len(one.captured_queries)):
        thirty = client.get(url)
    assert thirty.json()["count"] == 30


def test_a_page_of_services_costs_the_same_queries_as_one(client_for, sam, django_assert_max_num_queries):
    def add(n):
        scopes = [{"name": f"s{n}:read"}, {"name": f"s{n}:write"}]
        service_create(actor=sam, name=f"Service {n}", audience=f"https://s{n}.example.com", owner=sam, scopes=scopes)

    assert_30_rows_cost_no_more_than_1(client_for(sam), f"{API}services/", add, django_assert_max_num_queries)


def test_a_page_of_grants_costs_the_same_queries_as_one(client_for, sam, alice, make_identity, crm, grant, django_assert_max_num_queries):
    add = lambda n: grant(make_identity(alice, credential=False), crm, ["tickets:read"])  # noqa: E731
    assert_30_rows_cost_no_more_than_1(client_for(sam), f"{API}grants/", add, django_assert_max_num_queries)


def test_a_page_of_unused_grants_costs_the_same_queries_as_one(client_for, sam, alice, make_identity, crm, grant, django_assert_max_num_queries):
    def add(n):
        grant(make_identity(alice, credential=False), crm, ["tickets:read"], starts_at=timezone.now() - timedelta(days=40))
        call_command("grant_usage", stdout=io.StringIO())  # finds it unused: no token in the window

    assert_30_rows_cost_no_more_than_1(client_for(sam), f"{API}grants/unused/", add, django_assert_max_num_queries)


def test_a_page_of_credentials_costs_the_same_queries_as_one(client_for, sam, alice, make_identity, django_assert_max_num_queries):
    jwks = {"keys": [public_jwk(new_private_key(), kid="gh-1")]}
    issuer = federated_issuer_create(actor=sam, name="GitHub Actions", issuer=GITHUB, jwks=jwks)
    identity = make_identity(alice, credential=False)

    def add(n):
        # Federated credentials name their issuer, read for each row unless joined.
        if n % 2:
            credential_add_jwk(actor=alice, identity=identity, jwk=public_jwk(new_private_key()))
        else:
            credential_add_federated(actor=alice, identity=identity, federated_issuer=issuer, subject=f"{SUBJECT}-{n}")

    assert_30_rows_cost_no_more_than_1(client_for(alice), f"{API}credentials/", add, django_assert_max_num_queries)


def test_a_page_of_delegations_costs_the_same_queries_as_one(client_for, alice, make_identity, django_assert_max_num_queries):
    principal = make_identity(alice, credential=False)
    add = lambda n: delegation_create(actor=alice, principal=principal, delegate_id=make_identity(alice).pk, reason="tests")  # noqa: E731
    assert_30_rows_cost_no_more_than_1(client_for(alice), f"{API}delegations/", add, django_assert_max_num_queries)


def test_a_page_of_access_reviews_costs_the_same_queries_as_one(client_for, sam, rita, agent, crm, grant, django_assert_max_num_queries):
    grant(agent, crm, ["tickets:read"])
    due = timezone.localdate() + timedelta(days=14)
    add = lambda n: access_review_launch(actor=rita, name=f"Round {n}", due=due)  # noqa: E731
    assert_30_rows_cost_no_more_than_1(client_for(sam), f"{API}access-reviews/", add, django_assert_max_num_queries)


def test_an_access_review_shows_its_progress_after_each_change(client_for, sam, rita, agent, crm, grant):
    grant(agent, crm, ["tickets:read"])
    review = access_review_launch(actor=rita, name="Q4", due=timezone.localdate() + timedelta(days=14))
    item = review.items.get()
    decided = client_for(rita).post(
        f"{API}access-reviews/{review.pk}/items/{item.pk}/decide/", {"decision": "keep"}, content_type="application/json"
    )
    assert decided.status_code == 200, decided.content
    progress = {"total": 1, "kept": 1, "revoked": 0, "waiting": 0}
    assert client_for(sam).get(f"{API}access-reviews/").json()["results"][0]["progress"] == progress
    assert client_for(sam).get(f"{API}access-reviews/{review.pk}/").json()["progress"] == progress
    closed = client_for(rita).post(f"{API}access-reviews/{review.pk}/close/")
    assert closed.status_code == 200 and closed.json()["progress"] == progress and closed.json()["closed_at"]


def test_an_access_reviews_items_come_in_pages_like_every_list(client_for, sam, rita, alice, make_identity, crm, grant, django_assert_max_num_queries):
    identities = [make_identity(alice, credential=False) for _ in range(30)]
    grant(identities[0], crm, ["tickets:read"])
    client = client_for(sam)

    def items_of_a_new_round(count):
        review = access_review_launch(actor=rita, name=f"{count} grants", due=timezone.localdate() + timedelta(days=14))
        return f"{API}access-reviews/{review.pk}/items/"

    one = items_of_a_new_round(1)
    client.get(one)
    with CaptureQueriesContext(connection) as counted:
        first = client.get(one)
    assert first.json()["count"] == 1 and first.json()["results"][0]["grant_state"] == "live"
    for identity in identities[1:]:
        grant(identity, crm, ["tickets:read"])
    thirty = items_of_a_new_round(30)
    with django_assert_max_num_queries(len(counted.captured_queries)):
        page = client.get(thirty).json()
    assert (page["count"], len(page["results"]), page["next"]) == (30, 30, None)


@pytest.mark.parametrize("url, field", [
    ("grants/?identity=not-a-uuid", "identity"),
    ("grants/?state=forever", "state"),
    ("credentials/?identity=not-a-uuid", "identity"),
    ("tasks/?identity=not-a-uuid", "identity"),
    ("tasks/?open=perhaps", "open"),
    ("tasks/?approval=granted", "approval"),
    ("exposures/?state=lost", "state"),
    ("source-networks/?new=maybe", "new"),
])
def test_it_refuses_a_filter_value_it_does_not_know_on_its_name(client_for, alice, url, field):
    response = client_for(alice).get(API + url)
    assert response.status_code == 400 and list(response.json()) == [field], response.content


def test_it_filters_grants_by_identity_and_state(client_for, sam, alice, make_identity, crm, grant):
    kept, ended = make_identity(alice, credential=False), make_identity(alice, credential=False)
    live = grant(kept, crm, ["tickets:read"])
    revoked = grant(ended, crm, ["tickets:read"])
    client = client_for(sam)
    assert client.post(f"{API}grants/{revoked.pk}/revoke/", {"reason": "done"}, content_type="application/json").status_code == 200

    def ids(query):
        return [row["id"] for row in client.get(f"{API}grants/?{query}").json()["results"]]

    assert ids(f"identity={kept.pk}") == [live.pk]
    assert ids("state=revoked") == [revoked.pk]
    assert ids("state=live") == [live.pk]
    assert sorted(ids("")) == sorted([live.pk, revoked.pk])
