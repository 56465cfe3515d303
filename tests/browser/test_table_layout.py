"""Tables keep their rows' actions in view. At a laptop's 1366px the grants list and the audit
log fit their box, last column and all; on a phone (390px) a table whose rows carry actions shows
each row as a card, its actions at its foot, rather than past a sideways scroll."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from playwright.sync_api import expect

from tests.browser.test_accessibility import sign_in
from tests.page_quiet import wait_until_quiet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo(db):
    if connection.vendor != "sqlite":
        pytest.skip("layout, not the database, is under test: once, on SQLite, is enough")
    call_command("demo_data", "--identities", "30", stdout=io.StringIO())


def overflow(page) -> int:
    """How far the page's widest table runs past its box (0: it fits)."""
    wait_until_quiet(page)
    return page.evaluate("() => Math.max(0, ...[...document.querySelectorAll('main .table-wrap')].map(w => w.scrollWidth - w.clientWidth))")


def in_view_across(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]


def test_the_grants_list_fits_a_laptop_screen_with_its_actions(page, demo):
    page.set_viewport_size(LAPTOP)
    sign_in(page, "sam")
    page.goto("/grants/")
    assert overflow(page) == 0
    first = page.locator("main tbody tr").first
    for action in ("Remove scopes…", "Revoke…"):
        assert in_view_across(page, first.get_by_role("link", name=action)), action


def test_the_tokens_list_fits_a_laptop_screen_with_each_revoke(page, demo):
    page.set_viewport_size(LAPTOP)
    sign_in(page, "sam")
    page.goto("/tokens/")
    assert overflow(page) == 0
    assert in_view_across(page, page.locator("main tbody tr").first.get_by_role("link", name="Revoke…"))


def test_the_audit_log_fits_a_laptop_screen_to_its_last_column(page, demo):
    page.set_viewport_size(LAPTOP)
    sign_in(page, "rita")
    for number in (1, 2, 3):
        page.goto(f"/audit/?page={number}")
        assert overflow(page) == 0, f"audit log page {number}"
    assert in_view_across(page, page.get_by_role("columnheader", name="Request"))


@pytest.mark.parametrize("persona, path, action", [
    ("sam", "/grants/", "Revoke…"),
    ("sam", "/keys/", "Compromised…"),
    ("sam", "/trust-domains/", "Stop trusting…"),
    ("sam", "/federated-issuers/", "Stop trusting…"),
])
def test_each_rows_actions_are_in_view_on_a_phone(page, demo, persona, path, action):
    page.set_viewport_size(PHONE)
    sign_in(page, persona)
    page.goto(path)
    button = page.locator("main tbody tr").first.get_by_role("link", name=action)
    expect(button).to_be_visible()
    assert in_view_across(page, button)
    assert overflow(page) == 0
    # Each value is still named: its column's heading shows above it.
    label = page.locator("main tbody td[data-label]").first
    assert label.evaluate("td => getComputedStyle(td, '::before').content") == f'"{label.get_attribute("data-label")}"'


def test_an_access_reviews_keep_and_revoke_are_in_view_on_a_phone(page, demo):
    page.set_viewport_size(PHONE)
    sign_in(page, "rita")
    page.goto("/access-reviews/")
    page.locator("main tbody a").first.click()
    row = page.locator("main tbody tr", has=page.get_by_role("button", name="Keep")).first
    for control in (row.get_by_role("button", name="Keep"), row.get_by_role("textbox"), row.get_by_role("button", name="Revoke")):
        expect(control).to_be_visible()
        assert in_view_across(page, control)
    assert overflow(page) == 0
    # The box that chooses every row stays, named, where the column headings are hidden.
    expect(page.get_by_role("checkbox", name="Choose every grant here you may decide")).to_be_visible()


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_the_grants_list_fits_the_screen_with_long_names(page, demo, viewport):
    from inventory.models import AIIdentity
    from tokens.models import Grant

    grant = Grant.objects.select_related("identity", "service").order_by("-pk").first()
    AIIdentity.objects.filter(pk=grant.identity_id).update(name="customer-support-ticket-summariser-production-eu-west-1-canary")
    type(grant.service).objects.filter(pk=grant.service_id).update(name="enterprise-customer-relationship-management-api-gateway")
    page.set_viewport_size(viewport)
    sign_in(page, "sam")
    page.goto("/grants/")
    assert overflow(page) == 0
    assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
    row = page.locator("main tbody tr", has_text="customer-support-ticket-summariser").first
    assert in_view_across(page, row.get_by_role("link", name="Revoke…"))


@pytest.mark.parametrize("path", ["/trust-domains/", "/federated-issuers/"])
def test_a_long_issuer_or_trust_domain_leaves_its_rows_actions_in_view_on_a_laptop(page, demo, path):
    from tokens.models import FederatedIssuer, TrustDomain

    TrustDomain.objects.update(name="workloads.payments-platform.eu-west-1.prod.internal.example.com")
    FederatedIssuer.objects.update(issuer="https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF")
    page.set_viewport_size(LAPTOP)
    sign_in(page, "sam")
    page.goto(path)
    assert overflow(page) == 0
    assert in_view_across(page, page.locator("main tbody tr").first.get_by_role("link", name="Stop trusting…"))
