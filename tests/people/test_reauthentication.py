"""Confirming it is the person before a borrowed browser could do lasting harm (GitHub's "sudo
mode"): making an API token asks for the password again, unless this browser signed in or
confirmed within ten minutes; someone with single sign-on alone gives a code of their app, or,
with none, is told why nothing is asked. Wrong passwords count toward the sign-in lockout."""

from datetime import timedelta

import pyotp
import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from nhiportal.people.models import PersonalAPIToken
from nhiportal.people.reauthentication import CONFIRMED_KEY
from nhiportal.people.second_factor import new_secret, second_factor_enrol
from nhiportal.people.sessions import SIGN_IN_KEY
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
TOKENS = "/accounts/tokens/"
API = "/api/v1/identities/"


def signed_in(person, *, address="127.0.0.1") -> Client:
    """A browser that signed in through the password form, just now."""
    client = Client(REMOTE_ADDR=address)
    assert client.post("/accounts/login/", {"username": person.get_username(), "password": PASSWORD}).status_code == 302
    return client


def age(client, minutes=60) -> Client:
    """What the session of a browser signed in (and confirmed) `minutes` ago holds: a laptop left
    open since the morning, a session cookie copied off it."""
    session = client.session
    then = (timezone.now() - timedelta(minutes=minutes)).isoformat()
    session[SIGN_IN_KEY] = {**session.get(SIGN_IN_KEY, {}), "at": then}
    if CONFIRMED_KEY in session:
        session[CONFIRMED_KEY] = then
    session.save()
    return client


def stolen(person) -> Client:
    """A browser signed in as the person an hour ago, in someone else's hands."""
    return age(signed_in(person))


def mint(client, **data):
    return client.post(TOKENS, {"name": "exfiltration", "days": "365", **data})


def works(raw) -> bool:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(API).status_code == 200


def test_a_browser_signed_in_long_ago_cannot_mint_a_token_without_the_password(alice):
    thief = stolen(alice)
    page = thief.get(TOKENS)
    assert 'name="confirm_password"' in page.content.decode()
    assert "Your password is asked again first" in page.content.decode()

    refused = mint(thief)
    assert refused.status_code == 400 and refused.context["form"].errors["confirm_password"] == ["This field is required."]
    guessed = mint(thief, confirm_password="Summer2026!")
    assert guessed.status_code == 400 and guessed.context["form"].errors["confirm_password"] == ["That is not your password."]
    assert "secret-once" not in guessed.content.decode() and not PersonalAPIToken.objects.exists()
    assert not AuditEvent.objects.filter(action="api_token.create").exists()
    # The password never lands anywhere: not in the page, not in the audit log.
    assert "Summer2026!" not in guessed.content.decode()


def test_the_password_confirms_for_ten_minutes_then_is_asked_again(alice):
    browser = stolen(alice)
    made = mint(browser, confirm_password=PASSWORD)
    assert made.status_code == 200 and works(made.context["raw_token"])
    # Within ten minutes, nothing more is asked.
    again = mint(browser)
    assert again.status_code == 200 and again.context["raw_token"]
    assert 'name="confirm_password"' not in browser.get(TOKENS).content.decode()
    assert "your password is not asked again before" in browser.get(TOKENS).content.decode()
    # Later, it is.
    age(browser, minutes=11)
    assert mint(browser).status_code == 400
    assert PersonalAPIToken.objects.filter(user=alice).count() == 2


def test_a_sign_in_within_ten_minutes_stands_for_the_confirmation(alice):
    made = mint(signed_in(alice))
    assert made.status_code == 200 and works(made.context["raw_token"])


def test_wrong_passwords_on_the_token_form_count_toward_the_sign_in_lockout(alice, settings):
    thief = stolen(alice)
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert mint(thief, confirm_password="guess-again-123").context["form"].errors["confirm_password"] == ["That is not your password."]
    last = mint(thief, confirm_password="guess-again-123")
    assert last.status_code == 400  # the form, not the sign-in lockout page
    [error] = last.context["form"].errors["confirm_password"]
    assert error.startswith("Too many wrong passwords for your account from this address: try again after")
    # Now even the right one is refused, here and on the sign-in page from this address.
    assert "Too many wrong passwords" in mint(thief, confirm_password=PASSWORD).context["form"].errors["confirm_password"][0]
    assert Client().post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 429
    assert not PersonalAPIToken.objects.exists()
    assert AuditEvent.objects.filter(action="person.locked_out", object_repr="alice").count() == 1
    # What axes keeps of the attempts holds nothing typed (it masks only fields named "password").
    kept = " ".join(str(value) for row in AccessAttempt.objects.values_list() for value in row)
    assert "guess-again-123" not in kept and PASSWORD not in kept
    # alice, elsewhere, is not locked out; and once the lock has passed, the password works here too.
    assert signed_in(alice, address="203.0.113.9")
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(minutes=1))
    assert mint(thief, confirm_password=PASSWORD).status_code == 200


def test_the_right_password_clears_the_count_as_a_sign_in_does(alice, settings):
    browser = stolen(alice)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        mint(browser, confirm_password="typo-typo-123")
    assert mint(browser, confirm_password=PASSWORD).status_code == 200
    assert not AccessAttempt.objects.filter(username="alice").exists()


def test_single_sign_on_without_a_password_confirms_with_a_code_of_the_app(alice, client_for):
    alice.set_unusable_password()
    alice.save()
    secret = new_secret()
    second_factor_enrol(user=alice, secret=secret, code=pyotp.TOTP(secret).at(timezone.now() - timedelta(seconds=30)))
    browser = age(client_for(alice))
    page = browser.get(TOKENS).content.decode()
    assert 'name="confirm_code"' in page and 'name="confirm_password"' not in page
    assert "no password here, so a code from your authenticator app confirms it is you" in page
    wrong = mint(browser, confirm_code="000000")
    assert wrong.status_code == 400 and "not a current code of your app" in wrong.context["form"].errors["confirm_code"][0]
    made = mint(browser, confirm_code=pyotp.TOTP(secret).now())
    assert made.status_code == 200 and works(made.context["raw_token"])


def test_single_sign_on_with_nothing_to_confirm_with_is_let_through_and_told_why(alice, client_for):
    alice.set_unusable_password()
    alice.save()
    browser = age(client_for(alice))
    page = browser.get(TOKENS).content.decode()
    assert 'name="confirm_password"' not in page and 'name="confirm_code"' not in page
    assert "Nothing is asked to confirm it is you" in page and "no password here and no authenticator app" in page
    assert mint(browser).status_code == 200
