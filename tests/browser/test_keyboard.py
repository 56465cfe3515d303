"""Keyboard and screen-reader use: the first Tab offers to skip the navigation, each control
of the service form's scope table is named by its row, and past the skip link a few Tabs reach
the button that confirms, filters or acts in bulk."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.tokens.conftest import agent, crm, get_token, grant, make_agent, oauth  # noqa: F401  (fixtures)
from tokens.access_reviews import access_review_launch
from tokens.delegations import delegation_create
from tokens.models import IssuedToken
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


def tabs_to(page, target, *, limit=12) -> int:
    """Skip the navigation as a keyboard user does, then Tab until `target` has the focus; how
    many Tabs that took. Fails if it is not reached within `limit`."""
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Skip to content
    for tabs in range(1, limit + 1):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return tabs
    raise AssertionError(f"{limit} Tabs past the skip link did not reach the button")


def _confirmation_pages(alice, sam, make_agent, get_token, crm):
    """The identity pages' confirmations (alice's agents) and an access review's, each with the
    button that does it."""
    orchestrator = make_agent(alice, name="orchestrator")
    helper = make_agent(alice, name="helper")
    get_token(orchestrator)
    token = IssuedToken.objects.get()
    credential = orchestrator.identity.credentials.get()
    delegation = delegation_create(actor=alice, principal=orchestrator.identity, delegate_id=helper.identity.pk, reason="Night shift")
    review = access_review_launch(actor=sam, name="CRM access", due=timezone.localdate() + timedelta(days=7), service=crm)
    home = f"/identities/{orchestrator.identity.pk}"
    return [
        # In this order, as each ends what the one after acts on would otherwise take too.
        (f"{home}/delegations/{delegation.pk}/revoke/", "End the delegation"),
        (f"{home}/tokens/{token.pk}/revoke/", "Revoke the token"),
        (f"{home}/tasks/{token.task_id}/end/", "End the task"),
        (f"{home}/credentials/{credential.pk}/disable/", "Disable the credential"),
        (f"/access-reviews/{review.pk}/close/", "Close the review"),
    ]


def test_each_confirmation_is_confirmed_from_the_keyboard(page, login, alice, sam, make_agent, get_token, crm):
    pages = _confirmation_pages(alice, sam, make_agent, get_token, crm)
    login(page, sam)
    for path, button in pages:
        assert page.goto(path).status == 200, path
        tabs_to(page, page.get_by_role("button", name=button, exact=True))
        page.keyboard.press("Enter")
        expect(page).not_to_have_url(re.compile(re.escape(path) + "$"))
        expect(page.locator(".msg-success")).to_be_visible()


@pytest.mark.parametrize("listing", ["/grants/", "/credentials/", "/access-requests/", "/approvals/", "/exposures/"])
def test_a_list_is_filtered_from_the_keyboard(page, login, sam, make_identity, listing):
    make_identity(sam, name="ledger-reconciler")
    login(page, sam)
    page.goto(listing)
    identity = page.get_by_role("textbox", name="Identity")
    tabs_to(page, identity)
    page.keyboard.type("ledger-reconciler")
    filter_button = page.get_by_role("button", name="Filter", exact=True)
    while not filter_button.evaluate("element => element === document.activeElement"):
        page.keyboard.press("Tab")  # past the service choice, where the list has one
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]identity=ledger-reconciler(&|$)"))


def test_an_identitys_task_history_is_filtered_from_the_keyboard(page, login, sam, agent, get_token):
    get_token(agent)
    login(page, sam)
    page.goto(f"/identities/{agent.identity.pk}/tasks/")
    tabs_to(page, page.get_by_label("State"))
    page.keyboard.press("ArrowDown")  # Any → Open
    filter_button = page.get_by_role("button", name="Filter", exact=True)
    while not filter_button.evaluate("element => element === document.activeElement"):
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]state=open(&|$)"))
    expect(page.locator("main tbody tr")).to_have_count(1)


def test_two_identities_are_suspended_in_bulk_from_the_keyboard(page, login, alice, make_agent):
    for name in ("billing-agent", "crm-agent"):
        make_agent(alice, name=name)
    login(page, alice)
    page.goto("/identities/")
    tabs_to(page, page.get_by_role("checkbox", name="Choose every identity on this page you may change"), limit=20)
    page.keyboard.press("Space")
    bar = page.get_by_role("group", name="With the identities ticked")
    expect(bar).to_contain_text("2 chosen")
    suspend = bar.get_by_role("button", name="Suspend…")
    suspend.focus()  # the bar sits before the table: Shift+Tab goes back to it
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Suspend 2 identities")).to_be_visible()
    tabs_to(page, page.get_by_label("Reason"), limit=20)
    page.keyboard.type("Retired with the old billing system")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Suspend 2 identities")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".msg-success")).to_contain_text("Suspended 2 identities")
