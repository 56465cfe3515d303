"""A form sent after the session ended sends its person to sign in and back to the page the
form was on (not to the form's POST-only address), where they read that nothing was done.
Sessions are real ones, made through the sign-in form, and ended by deleting their rows."""

import time
from urllib.parse import quote

import pytest
from django.test import Client

from inventory.models import Attestation
from inventory.services import identity_activate
from nhiportal.people.models import PortalSession
from nhiportal.people.sign_in_redirects import NOT_DONE, UNSENT_KEY
from tests.conftest import PASSWORD
from tests.people.test_second_factor import code_at

pytestmark = pytest.mark.django_db
SIGN_IN = "/accounts/login/"


def sign_in(client, person, next_url=""):
    return client.post(SIGN_IN, {"username": person.get_username(), "password": PASSWORD, "next": next_url})


def signed_in(person) -> Client:
    client = Client()
    assert sign_in(client, person).status_code == 302
    return client


def end_every_session():
    PortalSession.objects.all().delete()


def messages_on(page) -> list[str]:
    return [str(m) for m in page.context["messages"]] if page.context else []


@pytest.fixture
def identity(alice, make_identity):
    return identity_activate(actor=alice, identity=make_identity(alice, name="ticket-summariser"), reason="go-live")


def attest(client, identity, referer=None):
    extra = {"HTTP_REFERER": referer} if referer is not None else {}
    return client.post(f"/identities/{identity.pk}/attest/", {"note": "Still needed."}, **extra)


def test_a_form_sent_after_the_session_ended_comes_back_to_its_page_and_says_it_was_not_done(alice, identity):
    client = signed_in(alice)
    page = f"/identities/{identity.pk}/"
    end_every_session()

    response = attest(client, identity, referer=f"http://testserver{page}?tab=history")

    assert response.status_code == 302 and response["Location"] == f"{SIGN_IN}?next={quote(page + '?tab=history')}"
    assert not Attestation.objects.exists()
    form = client.get(response["Location"])
    assert form.context["next"] == f"{page}?tab=history"
    back = sign_in(client, alice, form.context["next"])
    assert back.status_code == 302 and back["Location"] == f"{page}?tab=history"
    landed = client.get(back["Location"])
    assert landed.status_code == 200 and messages_on(landed) == [NOT_DONE]
    assert not Attestation.objects.exists()


@pytest.mark.parametrize("referer", [None, "https://elsewhere.example/identities/", "//elsewhere.example/identities/", "javascript:alert(1)", "/accounts/login/?next=/"])
def test_a_form_from_no_page_of_the_portal_comes_back_to_the_dashboard(alice, identity, referer):
    client = signed_in(alice)
    end_every_session()

    response = attest(client, identity, referer=referer)

    assert response.status_code == 302 and response["Location"] == f"{SIGN_IN}?next=/"
    back = sign_in(client, alice, "/")
    assert back["Location"] == "/" and messages_on(client.get("/")) == [NOT_DONE]


def test_a_page_opened_after_the_session_ended_still_comes_back_to_itself_and_says_nothing(alice, identity):
    client = signed_in(alice)
    end_every_session()

    response = client.get("/identities/?status=active")

    assert response["Location"] == f"{SIGN_IN}?next=/identities/%3Fstatus%3Dactive"
    back = sign_in(client, alice, "/identities/?status=active")
    assert back["Location"] == "/identities/?status=active" and messages_on(client.get(back["Location"])) == []


def test_a_sign_in_long_after_the_form_was_turned_away_says_nothing(alice, identity):
    client = signed_in(alice)
    end_every_session()
    attest(client, identity, referer=f"http://testserver/identities/{identity.pk}/")
    session = client.session
    session[UNSENT_KEY] = time.time() - 2 * 3600
    session.save()

    sign_in(client, alice, "/")

    assert messages_on(client.get("/")) == []


def test_someone_who_signs_in_again_with_a_code_lands_on_the_page_with_the_message(settings, alice, identity):
    from nhiportal.people.second_factor import new_secret, second_factor_enrol

    settings.MFA_REQUIRED_ROLES = ["owner"]
    client = signed_in(alice)  # no app yet: the password was enough
    secret = new_secret()
    second_factor_enrol(user=alice, secret=secret, code=code_at(secret))
    page = f"/identities/{identity.pk}/"

    # The session from before the app was set up is signed out by the second-factor middleware.
    response = attest(client, identity, referer=f"http://testserver{page}")

    assert response["Location"] == f"{SIGN_IN}?next={quote(page)}"
    assert sign_in(client, alice, page)["Location"] == "/accounts/login/code/"
    back = client.post("/accounts/login/code/", {"code": code_at(secret, 30)})
    assert back["Location"] == page and messages_on(client.get(page)) == [NOT_DONE]
    assert not Attestation.objects.exists()
