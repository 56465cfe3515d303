"""The search behind the identity pickers: what it finds, for whom, for which form."""

import pytest
from django.urls import reverse

from inventory.services import identity_offboard

pytestmark = pytest.mark.django_db
URL = reverse("inventory:identity-search")


def _search(client, q, purpose="grantable"):
    response = client.get(URL, {"q": q, "purpose": purpose})
    assert response.status_code == 200, response.content
    return response.json()


def _names(body):
    return [row["label"] for row in body["results"]]


def test_it_finds_identities_by_part_of_the_name_in_any_case(client_for, sam, alice, make_identity):
    reconciler = make_identity(alice, name="Ledger-Reconciler")
    make_identity(alice, name="ticket-summariser")
    body = _search(client_for(sam), "reconc")
    assert body == {"results": [{"id": str(reconciler.pk), "label": "Ledger-Reconciler", "client_id": reconciler.client_id}], "more": False}
    assert _names(_search(client_for(sam), "LEDGER")) == ["Ledger-Reconciler"]


def test_it_finds_an_identity_by_its_client_id_or_the_start_of_it(client_for, sam, alice, make_identity):
    identity = make_identity(alice)
    client = client_for(sam)
    assert _names(_search(client, identity.client_id)) == [identity.name]
    assert _names(_search(client, identity.client_id[:8].upper())) == [identity.name]
    # Too short a piece of an id is not looked up as one: it would match ids at random. (No
    # three hex digits are in the name "agent-1".)
    assert _search(client, identity.client_id[:3])["results"] == []


def test_it_answers_at_most_ten_names_that_start_with_the_query_first(client_for, sam, alice, make_identity):
    for n in range(12):
        make_identity(alice, name=f"invoice-bot-{n:02}")
    make_identity(alice, name="a-invoice-helper")
    body = _search(client_for(sam), "invoice")
    assert _names(body) == [f"invoice-bot-{n:02}" for n in range(10)]
    assert body["more"] is True
    # Among fewer matches, a name holding the query elsewhere comes after those it starts.
    assert _names(_search(client_for(sam), "invoice-")) == [f"invoice-bot-{n:02}" for n in range(10)]
    assert _names(_search(client_for(sam), "invoice-h")) == ["a-invoice-helper"]


def test_grantable_leaves_out_offboarded_identities(client_for, sam, alice, make_identity):
    make_identity(alice, name="old-agent")
    identity_offboard(actor=alice, identity=make_identity(alice, name="old-gone"), reason="Retired.")
    assert _names(_search(client_for(sam), "old-")) == ["old-agent"]


def test_requestable_offers_only_the_identities_the_person_may_change(client_for, alice, bob, make_identity):
    make_identity(alice, name="alices-agent")
    make_identity(bob, name="bobs-agent")
    make_identity(bob, name="shared-agent", backups=[alice])
    identity_offboard(actor=alice, identity=make_identity(alice, name="alices-old-agent"), reason="Retired.")
    assert _names(_search(client_for(alice), "agent", "requestable")) == ["alices-agent", "shared-agent"]


def test_a_reviewer_sees_every_identity_but_may_request_for_none(client_for, rita, alice, make_identity):
    make_identity(alice, name="alices-agent")
    assert _names(_search(client_for(rita), "alices", "grantable")) == ["alices-agent"]
    assert _search(client_for(rita), "alices", "requestable")["results"] == []


@pytest.mark.parametrize("purpose", ["grantable", "requestable"])
def test_an_outsider_learns_no_name(client_for, charlie, alice, make_identity, purpose):
    identity = make_identity(alice, name="alices-agent")
    for q in ("alices", identity.client_id):
        response = client_for(charlie).get(URL, {"q": q, "purpose": purpose})
        assert response.status_code == 200 and response.json() == {"results": [], "more": False}
        assert b"alices-agent" not in response.content


def test_an_owner_does_not_find_anothers_identity_by_its_client_id(client_for, alice, bob, make_identity):
    bobs = make_identity(bob, name="bobs-agent")
    assert _search(client_for(alice), bobs.client_id)["results"] == []


def test_someone_signed_out_is_sent_to_sign_in(client, alice, make_identity):
    make_identity(alice, name="alices-agent")
    response = client.get(URL, {"q": "alices", "purpose": "grantable"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("purpose", [None, "", "everything", "GRANTABLE"])
def test_an_unknown_purpose_is_refused_with_a_reason(client_for, sam, alice, make_identity, purpose):
    make_identity(alice, name="alices-agent")
    query = {"q": "alices"} if purpose is None else {"q": "alices", "purpose": purpose}
    response = client_for(sam).get(URL, query)
    assert response.status_code == 400
    assert "purpose must be one of: grantable, requestable" in response.json()["error"]
    assert b"alices-agent" not in response.content


def test_an_empty_or_very_long_query_finds_nothing(client_for, sam, alice, make_identity):
    make_identity(alice, name="alices-agent")
    assert _search(client_for(sam), "   ") == {"results": [], "more": False}
    assert client_for(sam).get(URL, {"purpose": "grantable"}).json() == {"results": [], "more": False}
    assert _search(client_for(sam), "alices" + "x" * 5000)["results"] == []


def test_answers_are_not_cached(client_for, sam):
    response = client_for(sam).get(URL, {"q": "x", "purpose": "grantable"})
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
