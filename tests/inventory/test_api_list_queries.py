"""The inventory API's lists cost the same queries for a page of thirty rows as for one: each
row's owners, attestation standing, claim or campaign answer is read for the page at once."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.campaigns import campaign_launch
from inventory.claims import claim_create
from inventory.services import identity_activate, identity_attest
from nhiportal.people.roles import OWNER
from nhiportal.people.services import person_deactivate
from tests.conftest import _person

API = "/api/v1/"


def queries_of(client, url) -> int:
    client.get(url)  # what any first request reads once (content types, the session)
    with CaptureQueriesContext(connection) as counted:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(counted.captured_queries)


def test_a_page_of_identities_costs_the_same_queries_as_one(client_for, sam, alice, bob, make_identity, django_assert_max_num_queries):
    make_identity(alice, backups=[bob])
    client = client_for(sam)
    one = queries_of(client, f"{API}identities/")
    for _ in range(29):
        identity = identity_activate(actor=alice, identity=make_identity(alice, backups=[bob]))
        identity_attest(actor=alice, identity=identity, note="still needed")
    with django_assert_max_num_queries(one):
        page = client.get(f"{API}identities/").json()
    assert page["count"] == 30 and {o["username"] for o in page["results"][0]["owners"]} == {"alice", "bob"}


def test_a_page_of_attestations_costs_the_same_queries_as_one(client_for, rita, alice, make_identity, django_assert_max_num_queries):
    identity_attest(actor=alice, identity=identity_activate(actor=alice, identity=make_identity(alice)), note="first")
    client = client_for(rita)
    one = queries_of(client, f"{API}attestations/")
    for n in range(29):
        identity_attest(actor=alice, identity=identity_activate(actor=alice, identity=make_identity(alice)), note=f"number {n}")
    with django_assert_max_num_queries(one):
        assert client.get(f"{API}attestations/").json()["count"] == 30


def test_a_page_of_a_campaigns_items_costs_the_same_queries_as_one(client_for, rita, alice, make_identity, django_assert_max_num_queries):
    due = timezone.localdate() + timedelta(days=14)
    client = client_for(rita)

    def items_of_a_campaign_over(count):
        identities = [identity_activate(actor=alice, identity=make_identity(alice, environment="staging")) for _ in range(count)]
        campaign = campaign_launch(actor=rita, name=f"{count} identities", due=due, environment="staging")
        identity_attest(actor=alice, identity=identities[0], note="still needed")
        return f"{API}campaigns/{campaign.pk}/items/"

    one = queries_of(client, items_of_a_campaign_over(1))
    thirty = items_of_a_campaign_over(29)  # with the one before: 30
    with django_assert_max_num_queries(one):
        page = client.get(thirty).json()
    assert page["count"] == 30


def test_a_page_of_claims_and_orphans_costs_the_same_queries_as_one(client_for, rita, bob, make_identity, django_assert_max_num_queries):
    client = client_for(rita)
    leavers = []

    def orphan_and_claim():
        leaver = _person(f"leaver-{len(leavers)}", OWNER)
        leavers.append(leaver)
        identity = make_identity(leaver)
        person_deactivate(person=leaver, actor=rita, reason="left the company")
        claim_create(actor=bob, identity=identity, reason="I run it now")

    orphan_and_claim()
    claims, orphans = queries_of(client, f"{API}claims/"), queries_of(client, f"{API}claims/orphaned/")
    for _ in range(29):
        orphan_and_claim()
    with django_assert_max_num_queries(claims):
        assert client.get(f"{API}claims/").json()["count"] == 30
    with django_assert_max_num_queries(orphans):
        assert client.get(f"{API}claims/orphaned/").json()["count"] == 30
