"""The people directory behind the type-ahead pickers: who may ask, and what it answers."""

import pytest
from django.contrib.auth.models import Group

from nhiportal.people.roles import OWNER
from tests.conftest import _person

pytestmark = pytest.mark.django_db
URL = "/people/"


def _search(client, q):
    response = client.get(URL, {"q": q})
    assert response.status_code == 200, response.content
    return response.json()


def _usernames(body):
    """The usernames answered, read off each label's "(username)"."""
    return [row["label"].rsplit("(", 1)[-1].rstrip(")") for row in body["results"]]


def test_an_owner_finds_people_by_username_name_or_the_start_of_their_email(client_for, alice):
    grace = _person("grace")
    grace.first_name, grace.last_name, grace.email = "Grace", "Mensah", "g.mensah@corp.example"
    grace.save()
    client = client_for(alice)
    for query in ("grac", "mensah", "g.mensah", "GRACE MEN"):
        body = _search(client, query)
        assert body["results"] == [{"id": grace.pk, "label": "Grace Mensah (grace)", "email": "g.mensah@corp.example"}], query
        assert body["more"] is False
    # Every word must match, and an email matches from its start only.
    assert _search(client, "grace okafor")["results"] == []
    assert _search(client, "corp.example")["results"] == []


def test_it_offers_only_active_people(client_for, alice):
    gone = _person("dmitri")
    gone.is_active = False
    gone.save()
    assert _search(client_for(alice), "dmitri")["results"] == []


def test_it_answers_at_most_ten_people_and_says_more_match(client_for, alice):
    for n in range(12):
        _person(f"agent-owner-{n:02}")
    body = _search(client_for(alice), "agent-owner")
    assert _usernames(body) == [f"agent-owner-{n:02}" for n in range(10)]
    assert body["more"] is True


def test_an_empty_query_finds_no_one(client_for, alice, bob):
    assert _search(client_for(alice), "   ") == {"results": [], "more": False}
    assert client_for(alice).get(URL).json() == {"results": [], "more": False}


def test_a_very_long_query_is_cut_not_refused(client_for, alice):
    assert _search(client_for(alice), "alice " + "x" * 5000)["results"] == []


def test_an_owner_of_an_identity_without_the_owner_role_may_search(client_for, rita, alice, make_identity):
    # Made a backup while she had the owner role, which she has lost since: she still owns it.
    rita.groups.add(Group.objects.get(name=OWNER))
    make_identity(alice, backups=[rita])
    rita.groups.remove(Group.objects.get(name=OWNER))
    assert _usernames(_search(client_for(rita), "ali")) == ["alice"]


def test_a_security_admin_may_search(client_for, sam, alice):
    assert _usernames(_search(client_for(sam), "alice")) == ["alice"]


@pytest.mark.parametrize("persona", ["charlie", "rita", "carol"])
def test_people_who_fill_no_form_naming_people_are_refused(client_for, persona, request, alice):
    """The outsider, and reviewers and compliance who own nothing, get 403 and no names."""
    response = client_for(request.getfixturevalue(persona)).get(URL, {"q": "alice"})
    assert response.status_code == 403
    assert b"alice" not in response.content


def test_a_signed_out_visitor_is_sent_to_sign_in(client, alice):
    response = client.get(URL, {"q": "alice"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_it_answers_reads_only(client_for, alice):
    assert client_for(alice).post(URL, {"q": "alice"}).status_code == 405


def test_the_answer_is_not_cached(client_for, alice):
    response = client_for(alice).get(URL, {"q": "alice"})
    assert "no-store" in response["Cache-Control"]
