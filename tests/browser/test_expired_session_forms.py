"""In a real browser: a button pressed after the session ended leads, through signing in again,
back to the page it was on with word that nothing was done, never to Chromium's bare
"HTTP ERROR 405"; and an address that takes only a form's button, opened, says so in the
portal's layout while programs' endpoints keep their own answers."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from inventory.models import Attestation
from inventory.services import identity_activate
from nhiportal.people.models import PortalSession
from nhiportal.people.sign_in_redirects import NOT_DONE
from tests.browser.test_token_pages import csp_watch
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NOT_A_VISIT = "This address takes a form's button, not a visit"


@pytest.fixture
def identity(alice, make_identity):
    return identity_activate(actor=alice, identity=make_identity(alice, name="crm-summariser"), reason="go-live")


def test_a_button_pressed_after_the_session_ended_returns_to_its_page_after_signing_in(page, login, alice, identity):
    blocked = csp_watch(page)
    login(page, alice)
    page.goto(f"/identities/{identity.pk}/")
    page.fill("#attest #id_note", "Still summarises the CRM every night.")
    PortalSession.objects.all().delete()  # the session ends on the server while the page stays open

    page.locator("#attest").get_by_role("button", name="Attest").click()
    page.wait_for_url(re.compile(r"/accounts/login/\?next="))
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation() as landed:
        page.click("button[type=submit]")
    answer = landed.value

    page.wait_for_url(re.compile(rf"/identities/{identity.pk}/$"))
    assert answer.status == 200
    expect(page.locator(".msg-warning")).to_have_text(NOT_DONE)
    expect(page.locator("h1").first).to_contain_text("crm-summariser")
    assert not Attestation.objects.exists()

    # Trying again works: the form is there, and this time it is sent.
    page.fill("#attest #id_note", "Still summarises the CRM every night.")
    page.locator("#attest").get_by_role("button", name="Attest").click()
    expect(page.locator(".msg-success")).to_contain_text("Attested crm-summariser")
    assert Attestation.objects.count() == 1 and not blocked


def test_opening_a_button_only_address_explains_it_and_leads_to_its_page(page, login, alice, identity):
    blocked = csp_watch(page)
    login(page, alice)

    answer = page.goto(f"/identities/{identity.pk}/attest/")

    assert answer.status == 405 and answer.headers["allow"] == "POST"
    expect(page.get_by_text(NOT_A_VISIT)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()  # the portal's layout, not a blank page
    page.get_by_role("link", name="Go to its page").click()
    page.wait_for_url(re.compile(rf"/identities/{identity.pk}/$"))
    assert not blocked


def test_signed_out_the_address_says_so_on_the_bare_layout(page, identity):
    answer = page.goto(reverse("logout"))

    assert answer.status == 405
    expect(page.get_by_role("heading", name=NOT_A_VISIT)).to_be_visible()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()


def test_programs_endpoints_keep_their_own_405_answers(page, login, alice, identity):
    login(page, alice)

    api = page.request.get(reverse("api:identity-activate", args=[identity.pk]))
    oauth = page.request.get("/oauth/token")

    assert api.status == 405 and api.json() == {"detail": 'Method "GET" not allowed.'}
    assert oauth.status == 405 and oauth.json()["error"] == "invalid_request"
    assert NOT_A_VISIT not in api.text() + oauth.text()
