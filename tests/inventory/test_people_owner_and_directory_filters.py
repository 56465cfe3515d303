"""The people list and its API filter on who owns identities in service and on who the
organisation's directory keeps (linked through single sign-on, or provisioned over SCIM and not
deleted there), which NHIP-20 counts. Reading people stays with those who read the whole
inventory; the filters show them no one they could not list already, and a value other than
yes or no lists nobody on the page (a 400 in the API), never everyone."""

import pytest
from django.utils import timezone

from inventory.services import identity_offboard
from nhiportal.people.models import DirectoryEntry, SingleSignOnLink
from nhiportal.people.roles import OWNER
from nhiportal.people.services import person_deactivate
from tests.conftest import _person

pytestmark = pytest.mark.django_db

PAGE, API = "/users/", "/api/v1/people/"


@pytest.fixture
def cast(alice, carol, sam, make_identity):
    """alice owns one (no directory); dora owns one and signs in through single sign-on; eve is
    provisioned over SCIM and owns nothing; frank owns one as a backup, his SCIM entry deleted;
    gus owned only what was offboarded; lee owns one but left."""
    dora, eve, frank, gus, lee = (_person(name, OWNER) for name in ("dora", "eve", "frank", "gus", "lee"))
    SingleSignOnLink.objects.create(user=dora, issuer="https://idp.example.com", subject="dora")
    DirectoryEntry.objects.create(user=eve, external_id="eve-1")
    DirectoryEntry.objects.create(user=frank, external_id="frank-1", deleted_at=timezone.now())
    make_identity(alice, name="alices")
    make_identity(dora, name="doras")
    make_identity(alice, backups=[frank], name="frank-backs-it")
    identity_offboard(actor=sam, identity=make_identity(gus, name="gone"), reason="retired")
    make_identity(lee, name="lees")
    person_deactivate(actor=sam, person=lee, reason="left")


def shown(client, **query) -> set[str]:
    response = client.get(PAGE, query)
    assert response.status_code == 200
    return {p.username for p in response.context["page_obj"].object_list}


def listed(client, **query) -> set[str]:
    response = client.get(API, query)
    assert response.status_code == 200
    return {p["username"] for p in response.json()["results"]}


@pytest.mark.parametrize("read", [shown, listed])
def test_it_lists_owners_of_identities_in_service_and_who_the_directory_keeps(read, cast, carol, client_for):
    client = client_for(carol)
    assert read(client, owns="true") == {"alice", "dora", "frank"}
    assert read(client, owns="true", kept="true") == {"dora"}
    assert read(client, owns="true", kept="false") == {"alice", "frank"}
    assert read(client, kept="true") == {"dora", "eve"}
    assert {"carol", "sam", "eve", "gus"} <= read(client, owns="false") and not read(client, owns="false") & {"alice", "dora", "frank"}
    # A leaver still named as owner is an owner, though no longer an active one.
    assert read(client, owns="true", state="all") == {"alice", "dora", "frank", "lee"}


def test_the_filters_are_offered_and_keep_their_choice(cast, carol, client_for):
    page = client_for(carol).get(PAGE, {"owns": "true", "kept": "false"}).content.decode()
    assert '<select name="owns" id="id_owns">' in page and '<select name="kept" id="id_kept"' in page
    assert '<option value="true" selected>Yes</option>' in page and '<option value="false" selected>No</option>' in page
    assert "2 people" in page


def test_they_are_refused_to_those_who_may_not_read_people(cast, alice, charlie, client_for):
    for person in (alice, charlie):
        for query in ({"owns": "true"}, {"kept": "true"}):
            assert client_for(person).get(PAGE, query).status_code == 403
            assert client_for(person).get(API, query).status_code == 403


@pytest.mark.parametrize("name", ["owns", "kept"])
def test_a_value_other_than_yes_or_no_lists_nobody_on_the_page_and_is_a_400_in_the_api(name, cast, carol, client_for):
    client = client_for(carol)
    assert shown(client, **{name: "maybe"}) == set()
    assert "Nobody matches" in client.get(PAGE, {name: "maybe"}).content.decode()
    response = client.get(API, {name: "maybe"})
    assert response.status_code == 400 and name in response.json()
