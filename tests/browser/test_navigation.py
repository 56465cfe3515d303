"""The main menu: a sidebar on a wide screen, folded behind a button on a phone."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_token_pages import csp_watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_on_a_phone_the_menu_folds_away_and_opens_on_demand(page, login, alice):
    blocked = csp_watch(page)
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, alice)
    menu = page.get_by_role("button", name="Menu")
    identities = page.get_by_role("navigation", name="Main").get_by_role("link", name="Identities")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(identities).to_be_hidden()
    expect(page.locator("main h1")).to_be_in_viewport()  # the page starts with its own content

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    identities.click()
    expect(page.locator("main h1")).to_have_text("Identities")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Identities")).to_be_hidden()
    assert blocked == []


def test_on_a_wide_screen_the_menu_is_always_there(page, login, alice):
    page.set_viewport_size({"width": 1280, "height": 800})
    login(page, alice)
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Identities")).to_be_visible()
