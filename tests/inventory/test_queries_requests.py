"""The access request, claim and campaign pages ask a fixed number of questions, however many rows."""

from datetime import timedelta

from django.utils import timezone

from inventory.campaigns import campaign_launch
from inventory.claims import claim_create
from inventory.services import identity_activate, identity_attest
from tests.tokens.conftest import crm  # noqa: F401
from tokens.access_requests import access_request_create

from .test_queries import query_count


def ask_for(alice, make_identity, crm, count, start):
    for n in range(start, start + count):
        identity = make_identity(alice, name=f"agent-{n:03d}")
        access_request_create(
            actor=alice, identity=identity, service=crm, scopes=["tickets:read"],
            ends_at=timezone.now() + timedelta(days=7), justification="Drafts replies.",
        )


def test_the_access_request_list_does_not_query_per_request(alice, rita, client_for, make_identity, crm):
    client = client_for(rita)
    ask_for(alice, make_identity, crm, 2, 0)
    client.get("/access-requests/?view=all")
    few = query_count(client, "/access-requests/", {"view": "all"})
    ask_for(alice, make_identity, crm, 10, 2)
    assert query_count(client, "/access-requests/", {"view": "all"}) == few


def test_the_claim_lists_do_not_query_per_claim(alice, bob, rita, client_for, make_identity):
    client = client_for(rita)

    orphans = [make_identity(alice, name=f"orphan-{n:03d}") for n in range(12)]
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    for identity in orphans[:2]:
        claim_create(actor=bob, identity=identity, reason="mine now")
    client.get("/claims/?view=all")
    few = (query_count(client, "/claims/", {"view": "all"}), query_count(client, "/claims/orphaned/"))
    for identity in orphans[2:]:
        claim_create(actor=bob, identity=identity, reason="mine now")
    assert (query_count(client, "/claims/", {"view": "all"}), query_count(client, "/claims/orphaned/")) == few


def test_the_campaign_page_does_not_query_per_identity(alice, rita, client_for, make_identity):
    def active(start, count):
        return [identity_activate(actor=alice, identity=make_identity(alice, name=f"agent-{n:03d}")) for n in range(start, start + count)]

    client = client_for(rita)
    few_identities = active(0, 2)
    small = campaign_launch(actor=rita, name="Small", due=timezone.localdate() + timedelta(days=5))
    identity_attest(actor=alice, identity=few_identities[0])
    client.get(f"/campaigns/{small.pk}/?state=all")
    few = query_count(client, f"/campaigns/{small.pk}/", {"state": "all"})
    more = active(2, 10)
    large = campaign_launch(actor=rita, name="Large", due=timezone.localdate() + timedelta(days=5))
    for identity in more[:6]:  # answered rows show who attested: no query each
        identity_attest(actor=alice, identity=identity)
    assert query_count(client, f"/campaigns/{large.pk}/", {"state": "all"}) == few
