from datetime import datetime, timedelta

import pyotp
import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_it_logs_a_person_in_and_shows_the_dashboard(page, login, alice):
    login(page, alice)
    assert page.locator("h1").first.inner_text() == "Dashboard"
    assert "alice" in page.locator(".topbar").inner_text()


def test_it_refuses_a_wrong_password(page, alice):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "not-her-password")
    page.click("button[type=submit]")
    assert "correct username and password" in page.locator(".alert-error").inner_text()


def test_a_person_signs_in_through_the_identity_provider_and_lands_where_they_were_going(page, oidc_provider):
    page.goto("/identities/?status=active")
    page.click("text=Sign in with Example IdP")
    # The browser went to the provider (a live server on loopback) and came back signed in.
    page.wait_for_url(lambda url: "/identities/" in url and "/accounts/" not in url)
    assert "status=active" in page.url
    assert "ada" in page.locator(".topbar").inner_text() and "Owner" in page.locator(".topbar").inner_text()
    assert page.locator(".topbar a", has_text="Password").count() == 0  # no password to change


def test_the_providers_refusal_shows_on_the_sign_in_page(page, oidc_provider):
    oidc_provider.refuse_with = "access_denied"
    page.goto("/accounts/login/")
    page.click("text=Sign in with Example IdP")
    assert "Example IdP did not sign you in" in page.locator(".alert-error").inner_text()
    assert page.locator("input[name=password]").is_visible()  # passwords still work here


def test_a_person_sets_up_an_authenticator_app_and_signs_in_with_it(page, login, alice):
    login(page, alice)
    page.click("text=Second factor")
    # The QR code rendered (waited for: the image loads after the page does).
    page.wait_for_function("() => { const img = document.querySelector('img.qr'); return img.complete && img.naturalWidth > 0; }")
    secret = page.locator("p.muted .mono").inner_text()
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("button:has-text('Turn on')")
    assert len(page.locator("code.recovery-codes").inner_text().split()) == 10
    page.click("text=Log out")
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/login/code/")
    page.fill("input[name=code]", pyotp.TOTP(secret).at(datetime.now() + timedelta(seconds=30)))
    page.click("button:has-text('Sign in')")
    page.wait_for_url(lambda url: "/accounts/" not in url)
    assert page.locator("h1").first.inner_text() == "Dashboard"
