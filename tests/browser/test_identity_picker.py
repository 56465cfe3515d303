"""Choosing an identity in a real browser: type part of a name, pick with the keyboard, grant;
and the same form without script, where the name typed is the choice."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.test_accessibility import serious_violations
from tests.browser.test_token_pages import csp_watch
from tokens.models import Grant
from tokens.services import service_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _crm(sam):
    return service_create(
        actor=sam, name="CRM", audience="https://crm.example.com", owner=sam, trust_boundary="corp-internal",
        scopes=["tickets:read"],
    )


def _fill_the_rest(page, crm):
    page.select_option("#id_service", str(crm.pk))
    page.get_by_label("tickets:read").check()
    page.fill("#id_ends_at", "2099-01-01T00:00")
    page.fill("#id_justification", "Nightly reconciliation pilot")


def test_a_security_admin_picks_the_identity_with_the_keyboard_and_grants(page, login, sam, alice, make_identity):
    blocked = csp_watch(page)
    make_identity(alice, name="ledger-reconciler")
    wanted = make_identity(alice, name="ledger-reconciler-eu")
    make_identity(alice, name="ticket-summariser")
    crm = _crm(sam)
    login(page, sam)
    page.goto("/grants/new/")

    box = page.locator("#id_identity")
    box.fill("RECONC")
    options = page.locator("#id_identity-results [role=option]")
    expect(options).to_have_count(2)
    expect(options.first).to_contain_text("ledger-reconciler")
    expect(options.nth(1)).to_contain_text(wanted.client_id)
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-expanded", "true")
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", "id_identity-results-1")
    assert serious_violations(page, Axe()) == []  # the open list too
    box.press("Escape")  # closes the list, chooses nothing
    expect(page.locator("#id_identity-results")).to_be_hidden()
    expect(page.locator("#field-id_identity .chip")).to_have_count(0)

    box.press("ArrowDown")  # opens it again
    expect(options).to_have_count(2)
    box.press("ArrowDown")
    box.press("Enter")  # picks; does not submit the form
    expect(page).to_have_url(re.compile(r"/grants/new/$"))
    expect(page.locator("#field-id_identity .chip")).to_have_text(["ledger-reconciler-eu×"])
    expect(box).to_have_value("")

    _fill_the_rest(page, crm)
    page.get_by_role("button", name="Grant").click()
    expect(page.locator(".msg-success")).to_contain_text("Granted tickets:read on CRM to ledger-reconciler-eu")
    assert Grant.objects.get().identity == wanted
    assert blocked == []


def test_the_identity_page_link_arrives_with_the_identity_chosen(page, login, sam, alice, make_identity):
    identity = make_identity(alice, name="ledger-reconciler")
    crm = _crm(sam)
    login(page, sam)
    page.goto(f"/grants/new/?identity={identity.pk}")
    expect(page.locator("#field-id_identity .chip")).to_have_text(["ledger-reconciler×"])
    _fill_the_rest(page, crm)  # choosing the service redraws the scopes; the chip stays
    expect(page.locator("#field-id_identity .chip")).to_have_text(["ledger-reconciler×"])
    page.get_by_role("button", name="Grant").click()
    expect(page.locator(".msg-success")).to_contain_text("to ledger-reconciler")
    assert Grant.objects.get().identity == identity


def test_without_script_the_name_typed_is_the_choice(browser, live_server, login, sam, alice, make_identity):
    make_identity(alice, name="ledger-reconciler")
    wanted = make_identity(alice, name="ledger-reconciler-eu")
    crm = _crm(sam)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        login(page, sam)
        page.goto("/grants/new/")
        page.fill("#id_identity", "ledger")
        page.select_option("#id_service", str(crm.pk))
        page.get_by_role("button", name="Grant").click()
        # Refused next to the field, with the names that hold what was typed; kept to correct.
        expect(page.locator("#id_identity_error")).to_contain_text("ledger-reconciler, ledger-reconciler-eu")
        expect(page.locator("#id_identity")).to_have_value("ledger")

        page.fill("#id_identity", "Ledger-Reconciler-EU")
        page.get_by_label("tickets:read").check()  # the service chosen shows its scopes now
        page.fill("#id_ends_at", "2099-01-01T00:00")
        page.fill("#id_justification", "Nightly reconciliation pilot")
        page.get_by_role("button", name="Grant").click()
        expect(page.locator(".msg-success")).to_contain_text("to ledger-reconciler-eu")
        assert Grant.objects.get().identity == wanted
    finally:
        context.close()
