"""The people list and its API filter on who decides access: reviewers and security admins
(a superuser is one), which NHIP-21 counts. Reading people stays with those who read the
whole inventory; the filter shows them no one they could not list already."""

import pytest

from nhiportal.people.models import SecondFactor
from nhiportal.people.roles import OWNER, REVIEWER, SECURITY_ADMIN
from nhiportal.people.second_factor import encrypt_secret
from nhiportal.people.services import person_deactivate
from tests.conftest import _person

pytestmark = pytest.mark.django_db

PAGE, API = "/users/", "/api/v1/people/"


@pytest.fixture
def cast(alice, rita, carol, sam, django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.com", "a-long-enough-password")
    person_deactivate(actor=sam, person=_person("leaver", REVIEWER), reason="left")
    SecondFactor.objects.create(user=rita, secret_encrypted=encrypt_secret("JBSWY3DPEHPK3PXP"))


def shown(client, **query) -> set[str]:
    response = client.get(PAGE, query)
    assert response.status_code == 200
    return {p.username for p in response.context["page_obj"].object_list}


def listed(client, **query) -> set[str]:
    response = client.get(API, query)
    assert response.status_code == 200
    return {p["username"] for p in response.json()["results"]}


@pytest.mark.parametrize("read", [shown, listed])
def test_it_lists_the_people_who_decide_access(read, cast, carol, client_for):
    client = client_for(carol)
    assert read(client, role="decides_access") == {"rita", "sam", "root"}
    assert read(client, role="decides_access", sign_in="password_alone") == {"sam", "root"}
    assert read(client, role="decides_access", state="all") == {"rita", "sam", "root", "leaver"}


def test_the_role_filter_offers_it_and_keeps_it_selected(cast, carol, client_for):
    page = client_for(carol).get(PAGE, {"role": "decides_access"}).content.decode()
    assert '<option value="decides_access" selected>Decides access (reviewer or security admin)</option>' in page


def test_it_is_refused_to_those_who_may_not_read_people(cast, alice, charlie, client_for):
    for person in (alice, charlie):
        assert client_for(person).get(PAGE, {"role": "decides_access"}).status_code == 403
        assert client_for(person).get(API, {"role": "decides_access"}).status_code == 403


def test_an_unknown_role_is_a_400_in_the_api(cast, carol, client_for):
    response = client_for(carol).get(API, {"role": "deciders"})
    assert response.status_code == 400 and "role" in response.json()


@pytest.mark.parametrize("read", ["page", "api"])
def test_one_in_both_roles_is_listed_once_with_what_they_own(read, cast, carol, client_for, make_identity):
    both = _person("both", REVIEWER, SECURITY_ADMIN, OWNER)
    make_identity(both)
    client = client_for(carol)
    if read == "page":
        rows = [(p.username, p.primary_count) for p in client.get(PAGE, {"role": "decides_access"}).context["page_obj"].object_list]
    else:
        rows = [(p["username"], p["primary_count"]) for p in client.get(API, {"role": "decides_access"}).json()["results"]]
    assert rows.count(("both", 1)) == 1 and [name for name, _ in rows].count("both") == 1
