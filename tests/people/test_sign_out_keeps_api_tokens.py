"""Which endings of a browser session take the API tokens made in it. One ended because it may
be in the wrong hands does (tests/people/test_ending_sessions.py); an ordinary ending does not:
signing out, the provider's back-channel logout (sent as well when the person merely signs
out there, and naming every session of theirs when it names none the portal knows), and the
session running out after its 8 hours. A token is for scripts that run after the browser
closes: it lasts the days its person chose, or until they revoke it."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from nhiportal.people.models import PersonalAPIToken, PortalSession
from tests.people.test_ending_sessions import TOKENS, answer, made_token, signed_in
from tests.people.test_single_sign_on import signed_in_as
from tests.people.test_single_sign_out import post_logout_token, through_sso

pytestmark = pytest.mark.django_db


def test_signing_out_leaves_the_tokens_made_in_that_browser_working(alice):
    laptop = signed_in(alice)
    raw = made_token(laptop, "nightly export")

    assert laptop.post("/accounts/logout/").status_code == 302

    assert not PortalSession.objects.filter(user=alice).exists()
    assert answer(raw) == 200
    assert PersonalAPIToken.objects.get(user=alice).revoked_at is None


def test_the_session_running_out_leaves_its_tokens_working(alice):
    laptop = signed_in(alice)
    raw = made_token(laptop)
    PortalSession.objects.filter(user=alice).update(expire_date=timezone.now() - timedelta(minutes=1))

    call_command("clearsessions")

    assert not PortalSession.objects.filter(user=alice).exists()
    assert answer(raw) == 200
    assert not AuditEvent.objects.filter(action="person.sessions_ended").exists()


def test_the_providers_back_channel_logout_leaves_tokens_working(oidc_provider):
    laptop = through_sso()
    raw = made_token(laptop)

    assert post_logout_token(oidc_provider.logout_token()).status_code == 200

    assert signed_in_as(laptop) is None
    assert answer(raw) == 200
    event = AuditEvent.objects.get(action="person.sessions_ended")
    assert event.after == {"sessions_ended": 1, "issuer": oidc_provider.issuer, "subject": "00u-ada"}


def test_a_session_ended_as_in_the_wrong_hands_still_takes_its_tokens(alice):
    here, laptop = signed_in(alice), signed_in(alice)
    kept, from_signed_out_laptop = made_token(here), made_token(laptop)
    laptop.post("/accounts/logout/")  # an ordinary ending: nothing is taken
    exfiltrated = made_token(signed_in(alice))

    here.post("/accounts/sessions/")  # "sign out my other sessions"

    assert answer(exfiltrated) == 401
    assert answer(from_signed_out_laptop) == 200 and answer(kept) == 200
    assert AuditEvent.objects.get(action="person.sessions_ended").after["api_tokens_revoked"] == 1


def test_the_tokens_page_says_which_endings_take_a_token(alice):
    page = signed_in(alice).get(TOKENS).content.decode()

    assert "ends with this browser's session when that session is ended because it may be in the wrong hands" in page
    assert "Signing out (here or at your organisation's sign-in) and the session running out leave it working" in page
    assert 'href="/accounts/sessions/"' in page


def test_the_tokens_page_is_for_the_signed_in_only():
    response = Client().get(TOKENS)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
