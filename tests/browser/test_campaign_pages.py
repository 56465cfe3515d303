"""Attestation campaigns in a real browser: a reviewer launches one, an owner answers it, the reviewer closes it."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inventory.campaigns import campaign_launch
from inventory.models import Campaign, Environment
from inventory.services import identity_activate
from tests.browser.test_token_pages import csp_watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "Q4 production"
ASK = "Check that its grants still match its purpose."
NOTE = "Still drafts replies for the CRM team; scopes unchanged."


def in_days(n):
    return timezone.localdate() + timedelta(days=n)


def _fleet(make_identity, alice, bob):
    """alice's two production agents and bob's one, all active."""
    return {
        name: identity_activate(actor=owner, identity=make_identity(owner, name=name))
        for name, owner in (("crm-bot", alice), ("ledger-bot", alice), ("payroll-bot", bob))
    }


def _row(page, name):
    return page.locator("main table tbody tr", has_text=name)


def test_a_reviewer_launches_a_campaign_an_owner_answers_it_and_the_reviewer_closes_it(page, login, alice, bob, rita, make_identity):
    blocked = csp_watch(page)
    fleet = _fleet(make_identity, alice, bob)
    due = in_days(10).isoformat()

    # rita launches it, first with a date in the past.
    login(page, rita)
    page.goto("/campaigns/")
    page.get_by_role("link", name="Launch a campaign").click()
    expect(page).to_have_url(re.compile(r"/campaigns/new/$"))
    page.fill("#id_name", NAME)
    page.fill("#id_due", in_days(-1).isoformat())
    page.select_option("#id_environment", "production")
    page.fill("#id_instructions", ASK)
    page.get_by_role("button", name="Launch").click()
    expect(page.locator(".field.has-error")).to_have_count(1)
    expect(page.locator(".field.has-error")).to_contain_text("Attest by")
    expect(page.locator("#id_due_error")).to_have_text("Choose a date after today.")
    expect(page.locator("#id_name")).to_have_value(NAME)  # what was typed survives the round trip
    assert not Campaign.objects.exists()

    page.fill("#id_due", due)
    page.get_by_role("button", name="Launch").click()
    campaign = Campaign.objects.get()
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.pk}/$"))
    expect(page.locator(".msg-success")).to_contain_text(f"Launched “{NAME}”: 3 identities to attest by {due}.")
    expect(page.locator("main h1")).to_have_text(NAME)
    progress = page.get_by_role("region", name="Progress")
    expect(progress.locator("h2")).to_have_text("Progress: 0% attested")
    expect(progress.locator("svg")).to_have_count(1)
    expect(page.get_by_role("region", name="What owners are asked")).to_contain_text(ASK)
    for name in fleet:
        expect(_row(page, name)).to_contain_text("waiting")

    # alice finds what is asked of her, follows it to her identity and attests it.
    page.context.clear_cookies()
    login(page, alice)
    page.goto("/campaigns/")
    asked = page.get_by_role("region", name="Asked of you")
    expect(asked).to_contain_text("crm-bot")
    expect(asked).to_contain_text("ledger-bot")
    expect(asked).not_to_contain_text("payroll-bot")  # bob's
    asked.get_by_role("link", name="crm-bot").click()
    expect(page).to_have_url(re.compile(rf"/identities/{fleet['crm-bot'].pk}/#attest$"))
    notice = page.get_by_role("note")
    expect(notice).to_have_text(f"The campaign {NAME} asks you to attest this identity by {due}. {ASK}")
    # Across the top of the actions card, above the action columns that hold the attest form.
    expect(page.locator("section[aria-label=Actions] > p[role=note] + .grid > form#attest")).to_have_count(1)
    expect(notice.get_by_role("link", name=NAME)).to_have_attribute("href", f"/campaigns/{campaign.pk}/")
    page.fill("#id_note", NOTE)
    page.locator("form#attest").get_by_role("button", name="Attest").click()
    expect(page.locator(".msg-success")).to_contain_text("Attested crm-bot.")
    expect(page.get_by_role("note")).to_have_count(0)  # nothing asked of her here any more
    page.goto("/campaigns/")
    expect(page.get_by_role("region", name="Asked of you")).not_to_contain_text("crm-bot")

    # rita sees the progress, and who attested.
    page.context.clear_cookies()
    login(page, rita)
    page.goto(f"/campaigns/{campaign.pk}/")
    expect(page.get_by_role("region", name="Progress").locator("h2")).to_have_text("Progress: 33% attested")
    expect(page.get_by_role("region", name="Progress")).to_contain_text("1 of 3 identities attested; 2 waiting")
    expect(_row(page, "crm-bot")).to_have_count(0)  # the waiting list no longer has it
    page.get_by_role("navigation", name="Which identities").get_by_role("link", name="All").click()
    expect(_row(page, "crm-bot")).to_contain_text("attested")
    expect(_row(page, "crm-bot")).to_contain_text("by alice")
    expect(_row(page, "crm-bot")).to_contain_text(NOTE)
    expect(_row(page, "ledger-bot")).to_contain_text("waiting")

    # rita closes it, confirming on the next page what will be missed.
    page.get_by_role("link", name="Close the campaign…").click()
    expect(page.get_by_role("region", name="What happens")).to_contain_text("2 identities not yet attested are marked missed")
    page.get_by_role("button", name="Close the campaign").click()
    expect(page.locator(".msg-success")).to_contain_text(f"Closed “{NAME}”.")
    expect(page.locator(".page-head")).to_contain_text("closed by rita")
    expect(page.get_by_role("button", name="Close the campaign")).to_have_count(0)
    page.goto(f"/campaigns/{campaign.pk}/?state=all")
    expect(_row(page, "ledger-bot")).to_contain_text("missed")
    expect(_row(page, "crm-bot")).to_contain_text("attested")
    campaign.refresh_from_db()
    assert not campaign.is_open and campaign.closed_by_label == "rita"
    assert blocked == []


def test_an_outsider_gets_neither_the_campaign_nor_the_launch_form(page, login, alice, bob, rita, charlie, make_identity):
    blocked = csp_watch(page)
    _fleet(make_identity, alice, bob)
    campaign = campaign_launch(actor=rita, name=NAME, due=in_days(10), environment=Environment.PRODUCTION)

    login(page, charlie)
    response = page.goto(f"/campaigns/{campaign.pk}/")
    assert response.status == 404
    expect(page.locator("main")).to_contain_text("Nothing here")
    expect(page.locator("body")).not_to_contain_text(NAME)
    response = page.goto("/campaigns/new/")
    assert response.status == 403
    expect(page.locator("body")).not_to_contain_text("Launch an attestation campaign")
    page.goto("/campaigns/")
    expect(page.locator("main")).to_contain_text("No campaigns yet")
    expect(page.locator("main")).not_to_contain_text(NAME)
    assert blocked == []
