"""Bulk actions on the identity list in a real browser: tick two identities, see what suspending
them ends, say why, confirm, and land back on the list as filtered, with what was done said."""

import re

import pytest
from playwright.sync_api import expect

from inventory.models import AIIdentity, Status
from tests.browser.test_table_layout import PHONE
from tests.browser.test_token_pages import csp_watch
from tests.tokens.conftest import agent, crm, get_token, grant, make_agent, oauth  # noqa: F401  (fixtures)
from tokens.models import IssuedToken

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_owner_ticks_two_identities_and_suspends_them(page, login, alice, make_agent, get_token):
    blocked = csp_watch(page)
    billing = make_agent(alice, name="billing-agent")
    for name in ("crm-agent", "kept-agent"):
        make_agent(alice, name=name)
    get_token(billing)
    login(page, alice)
    page.goto("/identities/?status=active")
    actions = page.get_by_role("group", name="With the identities ticked")
    page.get_by_role("checkbox", name="Choose billing-agent").check()
    page.get_by_role("checkbox", name="Choose crm-agent").check()
    expect(actions).to_contain_text("2 chosen")
    actions.get_by_role("button", name="Suspend…").click()

    expect(page.get_by_role("heading", name="Suspend 2 identities")).to_be_visible()
    listed = page.locator("#bulk-identities tbody tr")
    expect(listed).to_have_count(2)
    expect(listed.first).to_contain_text("billing-agent")
    expect(page.locator("#bulk-ends")).to_contain_text("1 live token is revoked")
    page.get_by_label("Reason").fill("Retired with the old billing system")
    page.get_by_role("button", name="Suspend 2 identities").click()

    expect(page).to_have_url(re.compile(r"/identities/\?status=active$"))
    expect(page.locator(".msg-success")).to_contain_text("Suspended 2 identities: 1 live token revoked")
    expect(page.locator("main tbody tr")).to_have_count(1)  # only the one left active still matches the filter
    assert {i.name: i.status for i in AIIdentity.objects.all()} == {
        "billing-agent": Status.SUSPENDED, "crm-agent": Status.SUSPENDED, "kept-agent": Status.ACTIVE,
    }
    assert not IssuedToken.objects.filter(revoked_at__isnull=True).exists()
    assert blocked == []


def test_choose_all_ticks_every_row_and_the_boxes_stay_in_view_on_a_phone(page, login, alice, make_agent):
    for name in ("alpha-agent", "beta-agent", "gamma-agent"):
        make_agent(alice, name=name)
    page.set_viewport_size(PHONE)
    login(page, alice)
    page.goto("/identities/")
    page.get_by_role("checkbox", name="Choose every identity on this page you may change").check()
    expect(page.get_by_role("group", name="With the identities ticked")).to_contain_text("3 chosen")
    first = page.locator("main tbody tr").first
    box = first.get_by_role("checkbox").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    # The box sits clear of the card's values: the name heads the card beside it, not under it.
    name = first.locator('td[data-label="Name"]').bounding_box()
    assert name["x"] + name["width"] <= box["x"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
