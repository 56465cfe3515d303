"""The identity list on a phone (390px): each identity is a card, as the other lists are, with
its status and risk in view and every value under its column's name, and nothing scrolls
sideways; its column heads stay, as a line of sort links. On a laptop it stays a table."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from playwright.sync_api import expect

from tests.browser.test_accessibility import sign_in
from tests.browser.test_table_layout import LAPTOP, PHONE, overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(db):
    if connection.vendor != "sqlite":
        pytest.skip("layout, not the database, is under test: once, on SQLite, is enough")
    call_command("demo_data", "--identities", "30", stdout=io.StringIO())


def in_view(page, locator) -> bool:
    """Wholly inside the screen, across and down."""
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= size["width"] and box["y"] >= 0 and box["y"] + box["height"] <= size["height"]


@pytest.mark.parametrize("persona", ["sam", "alice"])
def test_the_first_identitys_status_and_risk_are_in_view_on_a_phone(page, demo, persona):
    page.set_viewport_size(PHONE)
    sign_in(page, persona)
    page.goto("/identities/")
    first = page.locator("main tbody tr").first
    first.scroll_into_view_if_needed()
    status, risk = first.locator('td[data-label="Status"]'), first.locator('td[data-label="Risk"]')
    expect(status.locator(".badge").first).to_be_visible()
    assert in_view(page, status) and in_view(page, risk)
    assert in_view(page, first.locator('td[data-label="Name"] a'))
    # Nothing scrolls sideways: not the table in its box, not the page.
    assert overflow(page) == 0
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    # Each value is named by its column's heading, shown above it.
    assert status.evaluate("td => getComputedStyle(td, '::before').content") == '"Status"'
    assert risk.evaluate("td => getComputedStyle(td, '::before').content") == '"Risk"'
    # Sorting is still at hand: the sortable heads show as links above the cards.
    sort_by_risk = page.locator("main thead").get_by_role("link", name="Risk")
    expect(sort_by_risk).to_be_visible()
    box = sort_by_risk.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    sort_by_risk.click()
    expect(page).to_have_url("/identities/?sort=-risk")


def test_on_a_laptop_the_identity_list_is_still_a_table_that_fits(page, demo):
    page.set_viewport_size(LAPTOP)
    sign_in(page, "sam")
    page.goto("/identities/")
    assert overflow(page) == 0
    expect(page.get_by_role("columnheader", name="Attestation due")).to_be_visible()
    status = page.locator("main tbody tr").first.locator('td[data-label="Status"]')
    assert status.evaluate("td => getComputedStyle(td).display") == "table-cell"
    assert status.evaluate("td => getComputedStyle(td, '::before').content") in ("none", "normal")
