"""The identity list: search, filters, sorting, pagination, badges, empty states, bad input."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from inventory.models import AIIdentity, Environment, Kind, Sensitivity
from inventory.services import identity_activate, identity_suspend


LIST = reverse("inventory:identity-list")


def names(response) -> list[str]:
    return [identity.name for identity in response.context["identities"]]


def test_it_lists_the_identities_a_person_owns(alice, bob, client_for, make_identity):
    make_identity(alice, name="alice-agent")
    make_identity(bob, name="bob-agent")
    make_identity(bob, name="shared-agent", backups=[alice])
    assert names(client_for(alice).get(LIST)) == ["alice-agent", "shared-agent"]


@pytest.mark.parametrize("persona", ["rita", "carol", "sam"])
def test_it_lists_everything_for_those_who_read_everything(persona, request, alice, bob, client_for, make_identity):
    make_identity(alice, name="alice-agent")
    make_identity(bob, name="bob-agent")
    assert names(client_for(request.getfixturevalue(persona)).get(LIST)) == ["alice-agent", "bob-agent"]


def test_it_shows_an_outsider_nothing(alice, charlie, client_for, make_identity):
    make_identity(alice, name="alice-agent")
    response = client_for(charlie).get(LIST)
    assert response.status_code == 200
    assert b"alice-agent" not in response.content
    assert b"No identities registered yet" in response.content


def test_it_sends_anonymous_visitors_to_log_in(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_searches_name_purpose_and_trust_boundary(sam, alice, client_for, make_identity):
    make_identity(alice, name="invoice-bot", purpose="Reads invoices.")
    make_identity(alice, name="helper", purpose="Drafts INVOICE reminders.")
    make_identity(alice, name="edge", trust_boundary="invoice-zone")
    make_identity(alice, name="unrelated")
    assert names(client_for(sam).get(LIST, {"q": "invoice"})) == ["edge", "helper", "invoice-bot"]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"kind": Kind.PIPELINE}, ["nightly-etl"]),
        ({"environment": Environment.STAGING}, ["nightly-etl"]),
        ({"sensitivity": Sensitivity.RESTRICTED}, ["nightly-etl"]),
        ({"status": "active"}, ["live-agent"]),
        ({"owner": "bob"}, ["bobs-agent"]),
        ({"orphaned": "true"}, ["bobs-agent"]),
        ({"orphaned": "false"}, ["live-agent", "nightly-etl"]),
        ({"attestation_overdue": "true"}, ["live-agent"]),
        ({"kind": Kind.AGENT, "status": "registered"}, ["bobs-agent"]),
        ({"networks_bound": "true"}, ["nightly-etl"]),
        ({"networks_bound": "false"}, ["bobs-agent", "live-agent"]),
    ],
)
def test_it_filters(params, expected, alice, bob, sam, client_for, make_identity):
    make_identity(alice, name="nightly-etl", kind=Kind.PIPELINE, environment=Environment.STAGING, sensitivity_ceiling=Sensitivity.RESTRICTED,
                  allowed_networks=["10.40.0.0/16"])
    live = identity_activate(actor=alice, identity=make_identity(alice, name="live-agent"))
    AIIdentity.objects.filter(pk=live.pk).update(attestation_due="2020-01-01")
    make_identity(bob, name="bobs-agent")
    get_user_model().objects.filter(pk=bob.pk).update(is_active=False)
    assert names(client_for(sam).get(LIST, params)) == expected


def test_it_sorts_by_the_column_clicked_and_flips_it(sam, alice, client_for, make_identity):
    for name in ["bravo", "alpha", "charlie-agent"]:
        make_identity(alice, name=name)
    client = client_for(sam)
    assert names(client.get(LIST)) == ["alpha", "bravo", "charlie-agent"]
    response = client.get(LIST, {"sort": "-name"})
    assert names(response) == ["charlie-agent", "bravo", "alpha"]
    name_column = response.context["columns"][0]
    assert (name_column["active"], name_column["descending"], name_column["sort"]) == (True, True, "name")
    assert b'href="?sort=name"' in response.content
    assert b'href="?sort=kind"' in response.content


def test_sorting_keeps_the_filters_and_goes_back_to_page_one(sam, alice, client_for, make_identity):
    make_identity(alice)
    response = client_for(sam).get(LIST, {"kind": "agent", "page": "1"})
    assert b'href="?kind=agent&amp;sort=-name"' in response.content


def test_it_shows_25_per_page(sam, alice, client_for, make_identity):
    for n in range(27):
        make_identity(alice, name=f"agent-{n:02d}")
    client = client_for(sam)
    first = client.get(LIST)
    assert len(names(first)) == 25
    assert b"Page 1 of 2" in first.content
    assert names(client.get(LIST, {"page": 2})) == ["agent-25", "agent-26"]


@pytest.mark.parametrize("page", ["3", "0", "last-ish", "-1"])
def test_it_answers_404_for_a_page_that_does_not_exist(page, sam, alice, client_for, make_identity):
    make_identity(alice)
    assert client_for(sam).get(LIST, {"page": page}).status_code == 404


def test_it_answers_400_with_the_errors_for_an_invalid_filter(sam, client_for):
    response = client_for(sam).get(LIST, {"status": "dormant", "sensitivity": "11", "sort": "password"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Select a valid choice. dormant is not one of the available choices." in body
    assert "Some filters are not valid" in body
    assert "Sort: Select a valid choice." in body


def test_a_search_longer_than_any_name_is_a_filter_error_not_a_database_error(alice, client_for):
    # SQLite refuses a LIKE pattern past 50,000 bytes: a search that long was a 500.
    response = client_for(alice).get(LIST, {"q": "x" * 50_001})
    assert response.status_code == 400 and b"Ensure this value has at most 500 characters" in response.content
    api = client_for(alice).get("/api/v1/identities/", {"q": "x" * 50_001})
    assert api.status_code == 400 and "q" in api.json()


def test_it_tells_an_empty_filter_apart_from_an_empty_inventory(alice, client_for, make_identity):
    client = client_for(alice)
    empty = client.get(LIST)
    assert b"No identities registered yet" in empty.content
    make_identity(alice, name="only-one")
    no_match = client.get(LIST, {"q": "nothing-like-this"})
    assert b"No identities match these filters" in no_match.content
    assert b"No identities registered yet" not in no_match.content


def test_it_badges_status_orphaned_and_overdue(alice, sam, client_for, make_identity):
    live = identity_activate(actor=alice, identity=make_identity(alice, name="live-agent"))
    AIIdentity.objects.filter(pk=live.pk).update(attestation_due="2020-01-01")
    suspended = identity_activate(actor=alice, identity=make_identity(alice, name="paused-agent"))
    identity_suspend(actor=alice, identity=suspended, reason="Investigating")
    body = client_for(sam).get(LIST).content.decode()
    assert '<span class="badge badge-active">Active</span>' in body
    assert '<span class="badge badge-suspended">Suspended</span>' in body
    assert "badge-overdue" in body
    assert "badge-orphaned" not in body
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    assert client_for(sam).get(LIST).content.decode().count('class="badge badge-orphaned"') == 2


@pytest.mark.parametrize("persona, shown", [("alice", True), ("sam", True), ("rita", False), ("carol", False), ("charlie", False)])
def test_it_offers_registration_to_owners_and_security_admins_only(persona, shown, request, client_for):
    response = client_for(request.getfixturevalue(persona)).get(LIST)
    assert (reverse("inventory:identity-register").encode() in response.content) is shown


def test_it_links_to_the_csv_export_with_the_current_filters(sam, alice, client_for, make_identity):
    make_identity(alice, name="alpha")
    response = client_for(sam).get(LIST, {"q": "alp", "page": "1"})
    assert f'href="{reverse("inventory:identity-export")}?q=alp"'.encode() in response.content
