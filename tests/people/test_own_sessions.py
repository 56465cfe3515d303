"""A person's sessions page: each browser signed in as them, with when and from where it signed
in, and a way to sign out the one they do not recognise. Sessions are real ones, made by
signing in through the password form."""

import re

import pytest
from django.test import Client

from nhiportal.audit.models import AuditEvent
from nhiportal.people.models import PortalSession
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
FIREFOX_ON_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"
SAFARI_ON_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1"
)


def signed_in(person, *, agent="", address="127.0.0.1") -> Client:
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=address)
    assert client.post("/accounts/login/", {"username": person.get_username(), "password": PASSWORD}).status_code == 302
    return client


def is_signed_in(client) -> bool:
    return client.get("/").status_code == 200


def references(page) -> list[str]:
    """The sign-out forms' session references, in the page's order."""
    return re.findall(r'name="session" value="([^"]+)"', page.content.decode())


def test_the_page_lists_each_browser_with_where_and_when_it_signed_in(alice):
    signed_in(alice, agent=FIREFOX_ON_WINDOWS, address="198.51.100.7")
    here = signed_in(alice, agent=SAFARI_ON_IPHONE, address="::ffff:203.0.113.9")

    page = here.get("/accounts/sessions/")
    body = page.content.decode()
    assert page.status_code == 200
    rows = re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>")[1], re.S)
    assert len(rows) == 2
    # This browser first, marked; its address as the portal compares addresses (IPv4 unwrapped).
    assert "Mobile Safari 18 on iOS" in rows[0] and "This browser" in rows[0] and "203.0.113.9" in rows[0]
    assert 'name="session"' not in rows[0]  # signing out here is the sign-out link's job
    assert "Firefox 140 on Windows" in rows[1] and "198.51.100.7" in rows[1] and 'name="session"' in rows[1]
    assert FIREFOX_ON_WINDOWS in rows[1]  # in full, on hover, for the one who wants to be sure


def test_a_forwarded_for_header_does_not_change_the_address_shown(alice):
    here = Client(REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.9.9.9")
    here.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    body = here.get("/accounts/sessions/").content.decode()
    assert "192.0.2.1" in body and "10.9.9.9" not in body


def test_a_person_signs_out_one_other_session_and_keeps_the_rest(alice):
    laptop = signed_in(alice, agent=FIREFOX_ON_WINDOWS, address="198.51.100.7")
    phone = signed_in(alice, agent=SAFARI_ON_IPHONE, address="198.51.100.8")
    here = signed_in(alice)
    page = here.get("/accounts/sessions/")
    body = page.content.decode()
    # The newest sign-in first after this one: the phone, then the laptop.
    phone_ref, laptop_ref = references(page)
    assert body.index("Mobile Safari") < body.index("Firefox")

    response = here.post("/accounts/sessions/", {"session": laptop_ref})
    assert response.status_code == 302
    assert "Signed that session out" in here.get(response["Location"]).content.decode()
    assert not is_signed_in(laptop) and is_signed_in(phone) and is_signed_in(here)
    event = AuditEvent.objects.get(action="person.sessions_ended")
    assert event.actor_label == "alice" and event.after == {"sessions_ended": 1, "api_tokens_revoked": 0, "kept_their_current_session": True}
    assert references(here.get("/accounts/sessions/")) == [phone_ref]


def test_nobody_signs_out_another_persons_session_by_its_reference(alice, bob):
    bobs_laptop = signed_in(bob)
    bobs_ref, = references(signed_in(bob).get("/accounts/sessions/"))
    here = signed_in(alice)

    response = here.post("/accounts/sessions/", {"session": bobs_ref})
    assert response.status_code == 302
    assert "no longer open" in here.get(response["Location"]).content.decode()
    assert is_signed_in(bobs_laptop)
    assert not AuditEvent.objects.filter(action="person.sessions_ended").exists()


def test_a_reference_names_a_session_without_being_its_stored_key(alice):
    signed_in(alice)
    ref, = references(signed_in(alice).get("/accounts/sessions/"))
    stored = set(PortalSession.objects.values_list("session_key", flat=True))
    assert ref not in stored and not any(ref in key for key in stored)


def test_a_security_admin_sees_which_browsers_a_person_is_signed_in_on_and_others_only_how_many(alice, sam, rita):
    signed_in(alice, agent=FIREFOX_ON_WINDOWS, address="198.51.100.7")
    admin_view = signed_in(sam).get(f"/users/{alice.pk}/").content.decode()
    assert "signed in on 1 browser" in admin_view
    assert "Firefox 140 on Windows" in admin_view and "198.51.100.7" in admin_view

    reviewer_view = signed_in(rita).get(f"/users/{alice.pk}/")
    assert reviewer_view.status_code == 200 and "signed in on 1 browser" in reviewer_view.content.decode()
    assert "Firefox" not in reviewer_view.content.decode() and "198.51.100.7" not in reviewer_view.content.decode()


def test_a_browser_naming_itself_with_control_characters_still_signs_in(alice):
    here = signed_in(alice, agent="Mozilla/5.0\x00\x1b[31m (X11; Linux x86_64) Firefox/140.0")
    assert is_signed_in(here)
    assert PortalSession.objects.get().client == "Mozilla/5.0[31m (X11; Linux x86_64) Firefox/140.0"
