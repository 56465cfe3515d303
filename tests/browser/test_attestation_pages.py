"""Attestation reviews in a real browser: an owner attests, a reviewer rejects it, the owner reads why."""

import re

import pytest
from playwright.sync_api import expect

from inventory.models import AttestationReview
from inventory.services import identity_activate, identity_attest
from tests.browser.test_token_pages import csp_watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "It holds contacts:write, yet its purpose says it only reads."


def _sidebar_link(page):
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("^Attestations"))


def test_a_reviewer_rejects_an_attestation_and_the_owner_reads_why(page, login, alice, rita, make_identity):
    blocked = csp_watch(page)
    agent = identity_activate(actor=alice, identity=make_identity(alice, name="crm-summariser"), reason="go-live")

    # alice attests on the identity page.
    login(page, alice)
    page.goto(f"/identities/{agent.pk}/")
    page.fill("#attest #id_note", "Still summarises the CRM every night.")
    page.locator("#attest").get_by_role("button", name="Attest").click()
    expect(page.locator(".msg-success")).to_contain_text("Attested crm-summariser")
    review = page.get_by_role("region", name="Attestation")
    expect(review.locator(".badge-pending")).to_have_text("Waiting for a reviewer")
    attestation = agent.attestations.get()

    # rita finds it from the sidebar's count and rejects it, first without a reason.
    page.context.clear_cookies()
    login(page, rita)
    expect(_sidebar_link(page).locator(".badge-pending")).to_have_text("1")
    _sidebar_link(page).click()
    expect(page).to_have_url(re.compile(r"/attestations/$"))
    page.locator("main table").get_by_role("link", name=f"#{attestation.pk}").click()
    expect(page.locator("main h1")).to_have_text(f"Attestation #{attestation.pk}: crm-summariser")
    expect(page.get_by_role("region", name="What it holds now")).not_to_contain_text("Loading…")
    proves = page.get_by_role("region", name="How it proves itself")
    expect(proves).to_contain_text("key")  # its public key, read-only for the reviewer
    expect(proves.get_by_role("link", name="Disable…")).to_have_count(0)
    refuse = page.get_by_role("form", name="Refuse")
    refuse.get_by_role("button", name="Reject").click()
    expect(page.locator("#id_reject-reason_error")).to_contain_text("This field is required")
    page.fill("#id_reject-reason", REASON)
    page.get_by_role("form", name="Refuse").get_by_role("button", name="Reject").click()
    expect(page.locator(".msg-success")).to_contain_text("Rejected the attestation")
    expect(page.locator("main .badge-rejected")).to_have_text("Rejected")
    expect(_sidebar_link(page).locator(".badge-pending")).to_have_count(0)
    attestation.refresh_from_db()
    assert attestation.review == AttestationReview.REJECTED

    # alice reads why on the identity page, and the identity is due today.
    page.context.clear_cookies()
    login(page, alice)
    page.goto(f"/identities/{agent.pk}/")
    review = page.get_by_role("region", name="Attestation")
    expect(review).to_contain_text("rita rejected the attestation of")
    expect(review).to_contain_text(REASON)
    expect(review.get_by_role("link", name=re.compile("by alice"))).to_have_attribute("href", f"/attestations/{attestation.pk}/")
    assert not blocked


def test_a_reviewer_confirms_every_attestation_on_the_page_at_once(page, login, alice, rita, make_identity):
    agents = [identity_activate(actor=alice, identity=make_identity(alice, name=f"bot-{n}"), reason="go") for n in range(3)]
    for agent in agents:
        identity_attest(actor=alice, identity=agent, note="still needed")
    login(page, rita)
    page.goto("/attestations/")
    form = page.get_by_role("form", name="Confirm attestations")
    form.get_by_label("Choose every attestation on this page").check()
    expect(form.locator("input[name=attestation]:checked")).to_have_count(3)
    form.get_by_label("Note (optional, recorded on each attestation)").fill("Q4 campaign, grants checked")
    form.get_by_role("button", name="Confirm the attestations ticked").click()
    expect(page.locator(".msg-success")).to_contain_text("Confirmed 3 attestations.")
    expect(page.locator("main")).to_contain_text("Nothing waits for you")
    assert {a.attestations.get().review for a in agents} == {AttestationReview.CONFIRMED}
