"""Ending a person's browser sessions at once: a security admin from the person page or the
API, deactivation (the page's and the directory's), and a person signing out their other
browsers. Sessions are real ones, made by signing in, in the table and in the cache in front."""

import json
import re

import pytest
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.core.cache import cache
from django.test import Client, override_settings

from nhiportal.audit.models import AuditEvent
from nhiportal.people.ending_sessions import person_sessions_end
from nhiportal.people.models import PersonalAPIToken, PortalSession, TokenPurpose, session_key_digest
from nhiportal.people.services import api_token_create
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
CACHED = override_settings(SESSION_ENGINE="nhiportal.people.cached_sessions")


def signed_in(person) -> Client:
    """A browser that signed in through the password form."""
    client = Client()
    assert client.post("/accounts/login/", {"username": person.get_username(), "password": PASSWORD}).status_code == 302
    return client


def is_signed_in(client) -> bool:
    return client.get("/").status_code == 200


def end_from_page(client, person, **data):
    return client.post(f"/users/{person.pk}/sessions/end/", {"sessions-reason": "Laptop stolen.", "sessions-confirm": "on", **data})


def test_a_security_admin_ends_all_of_a_persons_sessions_from_their_page(sam, alice):
    laptop, phone, admin = signed_in(alice), signed_in(alice), signed_in(sam)
    page = admin.get(f"/users/{alice.pk}/")
    assert page.context["open_sessions"] == 2 and "signed in on 2 browsers" in page.content.decode()

    response = end_from_page(admin, alice)
    assert response.status_code == 302 and response["Location"] == f"/users/{alice.pk}/"
    assert "Ended 2 sessions of alice" in admin.get(response["Location"]).content.decode()
    assert not is_signed_in(laptop) and not is_signed_in(phone) and is_signed_in(admin)
    event = AuditEvent.objects.get(action="person.sessions_ended")
    assert (event.actor_label, event.object_repr, event.after, event.reason) == ("sam", "alice", {"sessions_ended": 2, "api_tokens_revoked": 0}, "Laptop stolen.")
    # She is not locked out: she signs in again.
    assert is_signed_in(signed_in(alice))


def test_ending_sessions_asks_for_a_reason_and_a_confirmation(sam, alice):
    laptop, admin = signed_in(alice), signed_in(sam)
    without_reason = end_from_page(admin, alice, **{"sessions-reason": ""})
    without_tick = admin.post(f"/users/{alice.pk}/sessions/end/", {"sessions-reason": "Laptop stolen."})
    assert without_reason.status_code == without_tick.status_code == 400
    assert without_tick.context["sessions_form"].errors["confirm"] == ["Tick this to confirm."]
    assert is_signed_in(laptop) and not AuditEvent.objects.filter(action="person.sessions_ended").exists()


def test_a_person_with_no_open_session_gets_no_event(sam, alice, client_for):
    response = end_from_page(client_for(sam), alice)
    assert response.status_code == 302 and not AuditEvent.objects.filter(action="person.sessions_ended").exists()


def test_ending_sessions_needs_the_csrf_token(sam, alice):
    laptop = signed_in(alice)
    admin = Client(enforce_csrf_checks=True)
    admin.force_login(sam)
    assert end_from_page(admin, alice).status_code == 403
    assert is_signed_in(laptop)


def test_nobody_but_a_security_admin_ends_someone_elses_sessions(alice, bob, rita, carol, charlie, sam, client_for):
    laptop = signed_in(alice)
    for outsider in (bob, rita, carol, charlie):
        client = client_for(outsider)
        # 403 whether the person exists or not: the answer says nothing about them.
        assert end_from_page(client, alice).status_code == 403
        assert client.post("/users/999999/sessions/end/", {"sessions-reason": "x", "sessions-confirm": "on"}).status_code == 403
        api = client.post(f"/api/v1/people/{alice.pk}/sessions/end/", {"reason": "x"}, content_type="application/json")
        assert api.status_code == 403
    # A security admin ends their own sessions from their account, not as an admin action.
    assert end_from_page(client_for(sam), sam).status_code == 403
    assert "End sessions" not in client_for(rita).get(f"/users/{alice.pk}/").content.decode()
    assert is_signed_in(laptop) and not AuditEvent.objects.filter(action="person.sessions_ended").exists()


def test_the_api_ends_a_persons_sessions_and_shows_how_many_are_open(sam, alice, client_for):
    laptop, phone = signed_in(alice), signed_in(alice)
    api = client_for(sam)
    assert api.get(f"/api/v1/people/{alice.pk}/").json()["sign_in"]["open_sessions"] == 2
    url = f"/api/v1/people/{alice.pk}/sessions/end/"
    assert api.post(url, {}, content_type="application/json").status_code == 400  # a reason is required
    response = api.post(url, {"reason": "Token leaked in a screen share."}, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"sessions_ended": 2, "api_tokens_revoked": 0}
    assert not is_signed_in(laptop) and not is_signed_in(phone)
    assert api.get(f"/api/v1/people/{alice.pk}/").json()["sign_in"]["open_sessions"] == 0
    assert AuditEvent.objects.get(action="person.sessions_ended").after == {"sessions_ended": 2, "api_tokens_revoked": 0}


def test_it_ends_a_leavers_sessions_on_deactivation_in_the_one_deactivate_event(sam, alice, audit_actions_during):
    laptop, admin = signed_in(alice), signed_in(sam)
    _, actions = audit_actions_during(lambda: admin.post(f"/users/{alice.pk}/deactivate/", {"deactivate-reason": "Left the company."}))
    assert actions == ["person.deactivate"]
    assert AuditEvent.objects.get(action="person.deactivate").after["sessions_ended"] == 1
    assert not PortalSession.objects.filter(user=alice).exists()
    # Ended, not merely refused while she is inactive: coming back does not revive the session.
    admin.post(f"/users/{alice.pk}/reactivate/", {"reactivate-reason": "Came back."})
    assert not is_signed_in(laptop)


def test_the_directory_deactivating_a_person_ends_their_sessions(sam, alice):
    laptop = signed_in(alice)
    _, raw = api_token_create(user=sam, name="okta", days=30, purpose=TokenPurpose.DIRECTORY_SYNC)
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").patch(f"/scim/v2/Users/{alice.pk}", json.dumps(body), content_type="application/scim+json")
    assert response.status_code == 200
    assert AuditEvent.objects.get(action="person.deactivate").after["sessions_ended"] == 1
    assert not PortalSession.objects.filter(user=alice).exists() and not is_signed_in(laptop)


def test_a_person_signs_out_their_other_sessions_and_keeps_this_one(alice, bob):
    here, laptop, phone, someone_else = signed_in(alice), signed_in(alice), signed_in(alice), signed_in(bob)
    page = here.get("/accounts/sessions/")
    assert page.status_code == 200 and "on <strong>2</strong> others" in page.content.decode()

    response = here.post("/accounts/sessions/")
    assert response.status_code == 302
    assert "Signed out 2 other sessions." in here.get(response["Location"]).content.decode()
    assert is_signed_in(here) and not is_signed_in(laptop) and not is_signed_in(phone) and is_signed_in(someone_else)
    event = AuditEvent.objects.get(action="person.sessions_ended")
    assert event.actor_label == "alice" and event.after == {"sessions_ended": 2, "api_tokens_revoked": 0, "kept_their_current_session": True}
    assert "Sign out my other sessions" not in here.get("/accounts/sessions/").content.decode()  # none left


def test_signing_out_other_sessions_is_a_post_with_the_csrf_token(alice):
    laptop = signed_in(alice)
    here = Client(enforce_csrf_checks=True)
    here.force_login(alice)
    assert here.post("/accounts/sessions/").status_code == 403
    assert is_signed_in(laptop)


@CACHED
def test_with_a_cache_in_front_ended_sessions_leave_the_cache_too(sam, alice):
    laptop, admin = signed_in(alice), signed_in(sam)
    cache_key = KEY_PREFIX + session_key_digest(laptop.cookies["sessionid"].value)
    assert cache.get(cache_key) is not None
    assert end_from_page(admin, alice).status_code == 302
    assert cache.get(cache_key) is None and not is_signed_in(laptop) and is_signed_in(admin)


@CACHED
def test_a_session_cached_again_before_the_commit_still_ends(sam, alice, django_capture_on_commit_callbacks):
    laptop = signed_in(alice)
    cache_key = KEY_PREFIX + session_key_digest(laptop.cookies["sessionid"].value)
    data = cache.get(cache_key)
    with django_capture_on_commit_callbacks(execute=True):
        person_sessions_end(person=alice, actor=sam, reason="Laptop stolen.")
        # Another request read the session meanwhile: its row was still there for it, uncommitted.
        cache.set(cache_key, data)
    assert cache.get(cache_key) is None and not is_signed_in(laptop)


def test_the_session_row_names_its_person_and_nobody_after_signing_out(alice):
    laptop = signed_in(alice)
    session_id = laptop.cookies["sessionid"].value
    assert PortalSession.objects.get(session_key=session_id).user == alice
    laptop.post("/accounts/logout/")
    assert not PortalSession.objects.filter(user=alice).exists()


# API tokens made in a session end with it: a token minted from a stolen browser must not
# outlive the browser's session (people/ending_sessions.py, PersonalAPIToken.made_in_session).

TOKENS = "/accounts/tokens/"
API = "/api/v1/identities/"


def made_token(client, name="script", **data) -> str:
    """A token made on the API tokens page of this browser (signed in just now, so no password asked)."""
    response = client.post(TOKENS, {"name": name, "days": "365", **data})
    assert response.status_code == 200, response.content
    return response.context["raw_token"]


def answer(raw) -> int:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(API).status_code


def revoke_reason(raw) -> str:
    from nhiportal.people.models import hash_api_token

    return PersonalAPIToken.objects.get(token_hash=hash_api_token(raw)).revoke_reason


def test_a_security_admin_ending_sessions_revokes_the_tokens_minted_in_them(sam, alice, client_for):
    stolen_browser, her_desk = signed_in(alice), signed_in(alice)
    exfiltrated, hers = made_token(stolen_browser, "exfil"), made_token(her_desk, "nightly export")
    _, from_before = api_token_create(user=alice, name="made before tokens knew their session", days=30)
    assert answer(exfiltrated) == answer(hers) == answer(from_before) == 200

    response = client_for(sam).post(f"/api/v1/people/{alice.pk}/sessions/end/", {"reason": "Laptop stolen."}, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"sessions_ended": 2, "api_tokens_revoked": 2}
    assert answer(exfiltrated) == answer(hers) == 401
    assert answer(from_before) == 200  # made before: no session to end with
    assert revoke_reason(exfiltrated) == "Its session was ended by a security admin: Laptop stolen."
    event = AuditEvent.objects.get(action="person.sessions_ended")
    assert event.after == {"sessions_ended": 2, "api_tokens_revoked": 2}
    assert not AuditEvent.objects.filter(action="api_token.revoke").exists()  # one event says it all

    # She signs in again and reads which tokens went, and why.
    page = signed_in(alice).get(TOKENS).content.decode()
    assert page.count("Its session was ended by a security admin: Laptop stolen.") == 2
    assert page.count("badge-revoked") == 2 and page.count("badge-live") == 1


def test_ending_sessions_from_the_person_page_says_how_many_tokens_went(sam, alice):
    laptop = signed_in(alice)
    raw = made_token(laptop)
    assert end_from_page(signed_in(sam), alice).status_code == 302
    assert answer(raw) == 401
    assert AuditEvent.objects.get(action="person.sessions_ended").after == {"sessions_ended": 1, "api_tokens_revoked": 1}


def test_signing_out_other_sessions_revokes_their_tokens_and_keeps_this_ones(alice, bob):
    here, stolen_browser, bobs = signed_in(alice), signed_in(alice), signed_in(bob)
    mine, exfiltrated, bobs_token = made_token(here), made_token(stolen_browser), made_token(bobs)

    assert here.post("/accounts/sessions/").status_code == 302
    assert answer(exfiltrated) == 401 and answer(mine) == 200 and answer(bobs_token) == 200
    assert revoke_reason(exfiltrated) == "Its session was ended when you signed out your other sessions."
    event = AuditEvent.objects.get(action="person.sessions_ended")
    assert event.after == {"sessions_ended": 1, "api_tokens_revoked": 1, "kept_their_current_session": True}


def test_signing_out_one_other_session_revokes_the_tokens_made_in_it(alice):
    here, laptop, phone = signed_in(alice), signed_in(alice), signed_in(alice)
    from_laptop, from_phone = made_token(laptop), made_token(phone)
    # The phone signed in last, so it is listed first after this browser; the laptop second.
    phone_ref, laptop_ref = re.findall(r'name="session" value="([^"]+)"', here.get("/accounts/sessions/").content.decode())
    assert here.post("/accounts/sessions/", {"session": laptop_ref}).status_code == 302
    assert answer(from_laptop) == 401 and answer(from_phone) == 200
    assert AuditEvent.objects.get(action="person.sessions_ended").after["api_tokens_revoked"] == 1


def test_a_token_keeps_a_fingerprint_of_its_session_never_its_id_nor_the_tables_key(alice):
    laptop = signed_in(alice)
    made_token(laptop)
    session_id = laptop.cookies["sessionid"].value
    token = PersonalAPIToken.objects.get(user=alice)
    stored = " ".join(str(value) for value in PersonalAPIToken.objects.filter(pk=token.pk).values_list().get())
    assert session_id not in stored and session_key_digest(session_id) not in stored
    assert len(token.made_in_session) == 64
    assert str(AuditEvent.objects.get(action="api_token.create").after).count(token.made_in_session) == 0


@CACHED
def test_with_a_cache_in_front_ending_sessions_revokes_their_tokens_too(sam, alice):
    laptop = signed_in(alice)
    raw = made_token(laptop)
    person_sessions_end(person=alice, actor=sam, reason="Laptop stolen.")
    assert answer(raw) == 401 and not is_signed_in(laptop)


def test_a_token_is_not_made_for_a_session_that_has_ended(sam, alice):
    from django.core.exceptions import ValidationError

    laptop = signed_in(alice)
    session_id = laptop.cookies["sessionid"].value
    person_sessions_end(person=alice, actor=sam, reason="Laptop stolen.")
    with pytest.raises(ValidationError, match="session has ended"):
        api_token_create(user=alice, name="late", days=30, session_key=session_id)
    assert not PersonalAPIToken.objects.filter(user=alice).exists()
