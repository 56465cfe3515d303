"""The inventory filters by whether an identity is in service, whether its record is complete
and whether it has an enabled workload credential (NHIP-01, -02 and -04 link to them), on the
list page and in the API alike; each narrows what the person may see and adds nothing to it."""

import pytest
from django.urls import reverse

from inventory.services import identity_offboard
from tests.tokens.conftest import make_agent  # noqa: F401
from tokens.credentials import credential_disable
from tokens.models import WorkloadCredential

pytestmark = pytest.mark.django_db

PAGE = "/identities/"
API = reverse("api:identity-list")


def shown(client, **query) -> set[str]:
    response = client.get(PAGE, query)
    assert response.status_code == 200
    return {i.name for i in response.context["identities"]}


def listed(client, **query) -> set[str]:
    response = client.get(API, query)
    assert response.status_code == 200
    return {i["name"] for i in response.json()["results"]}


@pytest.fixture
def cast(alice, bob, make_identity, make_agent):
    make_agent(alice, name="a-active")
    make_identity(alice, name="a-no-purpose", purpose="", credential=False)
    bare = make_agent(bob, name="b-key-disabled").identity
    credential_disable(actor=bob, credential=WorkloadCredential.objects.get(identity=bare), reason="rotating")
    identity_offboard(actor=alice, identity=make_identity(alice, name="a-gone"), reason="retired")


@pytest.mark.parametrize("read", [shown, listed])
def test_it_filters_by_in_service_record_complete_and_enabled_credential(read, cast, carol, client_for):
    client = client_for(carol)
    assert read(client, in_service="true") == {"a-active", "a-no-purpose", "b-key-disabled"}
    assert read(client, in_service="false") == {"a-gone"}
    assert read(client, documented="false") == {"a-no-purpose"}
    assert read(client, documented="true") == {"a-active", "b-key-disabled", "a-gone"}
    assert read(client, status="active", credential="false") == {"b-key-disabled"}
    # Offboarding removed its credential; registering made a-no-purpose without one.
    assert read(client, credential="false") == {"b-key-disabled", "a-no-purpose", "a-gone"}
    assert read(client, credential="true") == {"a-active"}


@pytest.mark.parametrize("read", [shown, listed])
def test_an_owner_finds_only_their_own_and_an_outsider_nothing(read, cast, bob, charlie, client_for):
    for name in ("in_service", "documented", "credential"):
        for value in ("true", "false"):
            assert read(client_for(charlie), **{name: value}) == set()
    assert read(client_for(bob), in_service="true") == {"b-key-disabled"}
    assert read(client_for(bob), documented="false") == set()


def test_the_filters_are_on_the_list_page_with_the_others(cast, carol, client_for):
    page = client_for(carol).get(PAGE, {"documented": "false"}).content.decode()
    for name in ("in_service", "documented", "credential"):
        assert f'name="{name}"' in page
    assert '<option value="false" selected>No</option>' in page


@pytest.mark.parametrize("name", ["in_service", "documented", "credential"])
def test_a_value_other_than_yes_or_no_is_refused_not_ignored(name, cast, carol, client_for):
    client = client_for(carol)
    assert client.get(PAGE, {name: "maybe"}).status_code == 400
    response = client.get(API, {name: "maybe"})
    assert response.status_code == 400 and name in response.json()


def test_the_rarer_filters_fold_under_more_filters_open_while_one_is_set(sam, client_for):
    client = client_for(sam)
    folded = client.get("/identities/").content.decode()
    assert '<details class="more-filters">' in folded and 'name="in_service"' in folded.split("<details", 1)[1]
    unfolded = client.get("/identities/?in_service=true").content.decode()
    assert '<details class="more-filters" open>' in unfolded
