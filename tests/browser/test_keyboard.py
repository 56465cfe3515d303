"""Keyboard and screen-reader use: the first Tab offers to skip the navigation, and each
control of the service form's scope table is named by its row."""

import pytest
from playwright.sync_api import expect

from tokens.services import service_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_first_tab_skips_the_navigation_to_the_page(page, login, alice):
    login(page, alice)
    page.goto("/identities/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#content"


def test_each_scope_row_names_its_controls(page, login, sam):
    service = service_create(
        actor=sam, name="CRM", audience="https://crm.example.com", owner=sam, trust_boundary="corp-internal",
        scopes=[{"name": "tickets:read"}],
    )
    login(page, sam)
    page.goto(f"/services/{service.pk}/edit/")
    expect(page.get_by_label("Scope 1: name")).to_have_value("tickets:read")
    expect(page.get_by_label("Scope 1: remove")).to_be_visible()
    expect(page.get_by_label("Scope 2: consequential")).to_be_visible()
