"""Access requests in a real browser: an owner asks for an agent's access, a reviewer approves it."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inventory.services import identity_activate
from tests.browser.test_token_pages import csp_watch
from tokens.access_requests import access_request_create
from tokens.models import AccessRequest, AccessRequestState, Grant
from tokens.services import service_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAITING = "Waiting for the service's reviewer"


def _helpdesk(sam):
    return service_create(
        actor=sam, name="Helpdesk", audience="https://helpdesk.example.com", owner=sam, trust_boundary="corp-internal",
        scopes=["tickets:read", "tickets:write"],
    )


def _a_few_days_ahead() -> str:
    return (timezone.now() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")


def test_an_owner_asks_for_access_and_a_reviewer_approves_it(page, login, alice, rita, sam, make_identity):
    blocked = csp_watch(page)
    identity = identity_activate(actor=alice, identity=make_identity(alice, name="ticket-summariser"))
    helpdesk = _helpdesk(sam)

    # alice asks from her identity's page.
    login(page, alice)
    page.goto(f"/identities/{identity.pk}/")
    expect(page.locator("#access")).to_contain_text("No grants")
    page.locator("#access").get_by_role("link", name="Request access").click()
    expect(page).to_have_url(re.compile(rf"/access-requests/new/\?identity={identity.pk}$"))
    expect(page.locator("#field-id_identity .chip")).to_have_text(["ticket-summariser×"])
    page.select_option("#id_service", str(helpdesk.pk))
    page.get_by_label("tickets:read").check()
    page.fill("#id_ends_at", _a_few_days_ahead())
    page.get_by_role("button", name="Send the request").click()
    expect(page.locator(".field.has-error")).to_have_count(1)
    expect(page.locator(".field.has-error")).to_contain_text("Justification")
    expect(page.locator("#id_justification_error")).to_contain_text("This field is required")
    assert not AccessRequest.objects.exists()

    # What was filled in stays; she says why and sends it again.
    expect(page.get_by_label("tickets:read")).to_be_checked()
    page.fill("#id_justification", "Read the ticket history it summarises; today a person pastes it in by hand.")
    page.get_by_role("button", name="Send the request").click()
    expect(page.locator(".msg-success")).to_contain_text("Asked for tickets:read on Helpdesk for ticket-summariser")
    expect(page.locator("main h1")).to_contain_text("Access request #")
    expect(page.locator("main .badge-service_review")).to_have_text(WAITING)
    expect(page.locator("main")).to_contain_text("You asked, so other people decide.")
    asked = AccessRequest.objects.get()
    assert asked.state == AccessRequestState.SERVICE_REVIEW and asked.owner_approved_by == alice

    # rita sees it waiting for her, from the sidebar.
    page.context.clear_cookies()
    login(page, rita)
    sidebar = page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Access requests"))
    expect(sidebar.locator(".badge")).to_have_text("1")
    sidebar.click()
    expect(page.locator("nav[aria-label='Whose'] [aria-current=page]")).to_have_text("Waiting for me")
    expect(page.locator("main table")).to_contain_text("ticket-summariser")
    page.locator("main table").get_by_role("link", name=f"#{asked.pk}").click()
    expect(page.locator("main")).to_contain_text("Read the ticket history it summarises")
    page.get_by_role("button", name="Approve and grant").click()
    expect(page.locator(".msg-success")).to_contain_text("Approved: ticket-summariser may ask for tickets:read on Helpdesk")
    expect(page.locator("main .badge-approved").first).to_have_text("Approved")
    grant = Grant.objects.get()
    expect(page.locator("main")).to_contain_text(f"Granted: grant #{grant.pk}")
    expect(page.get_by_role("button", name="Approve and grant")).to_have_count(0)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Access requests")).locator(".badge")).to_have_count(0)

    # The identity's access panel shows the live grant, and nothing waits there any more.
    page.get_by_role("link", name="ticket-summariser").first.click()
    access = page.locator("#access")
    expect(access.locator("table").first).to_contain_text("Helpdesk")
    expect(access.locator("table").first).to_contain_text("tickets:read")
    expect(access.locator(".badge-live")).to_have_count(1)
    expect(access).not_to_contain_text("Access requests waiting")
    assert grant.is_live() and grant.identity_id == identity.pk and grant.scopes == ["tickets:read"]
    assert blocked == []


def test_an_outsider_cannot_open_a_request_and_the_asker_cannot_decide_it(page, login, alice, charlie, sam, make_identity):
    blocked = csp_watch(page)
    identity = make_identity(alice, name="ticket-summariser")
    asked = access_request_create(
        actor=alice, identity=identity, service=_helpdesk(sam), scopes=["tickets:read"],
        ends_at=timezone.now() + timedelta(days=5), justification="Read the tickets it summarises.",
    )

    login(page, charlie)
    response = page.goto(f"/access-requests/{asked.pk}/")
    assert response.status == 404
    expect(page.locator("main")).to_contain_text("Nothing here")
    expect(page.locator("body")).not_to_contain_text("ticket-summariser")

    page.context.clear_cookies()
    login(page, alice)
    page.goto(f"/access-requests/{asked.pk}/")
    expect(page.locator("main .badge-service_review")).to_have_text(WAITING)
    expect(page.locator("main")).to_contain_text("You asked, so other people decide.")
    expect(page.get_by_role("form", name="Approve")).to_have_count(0)
    expect(page.get_by_role("form", name="Refuse")).to_have_count(0)
    expect(page.get_by_role("button", name="Approve and grant")).to_have_count(0)
    # She may still withdraw it.
    expect(page.get_by_role("button", name="Cancel the request")).to_be_visible()
    assert blocked == []
