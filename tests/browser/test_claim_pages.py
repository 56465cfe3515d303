"""Ownership claims in a real browser: an owner claims an orphaned identity, a reviewer approves it."""

import re

import pytest
from playwright.sync_api import expect

from inventory.claims import claim_create
from inventory.models import ClaimState, OwnershipClaim, OwnerRole
from tests.browser.test_token_pages import csp_watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAITING = "Waiting for a reviewer"
WHY = "I took over the ledger team's automation when alice left; I review its runs every week."


def _orphan(make_identity, alice):
    identity = make_identity(alice, name="ledger-bot")
    alice.is_active = False  # alice left the company: no active owner remains
    alice.save()
    return identity


def _sidebar_link(page):
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Ownership claims"))


def test_an_owner_claims_an_orphan_and_a_reviewer_makes_him_its_primary_owner(page, login, alice, bob, rita, make_identity):
    blocked = csp_watch(page)
    orphan = _orphan(make_identity, alice)

    # bob finds the orphan and claims it.
    login(page, bob)
    page.goto("/claims/orphaned/")
    row = page.locator("main table tr", has_text="ledger-bot")
    expect(row).to_contain_text("alice")  # its former primary owner
    row.get_by_role("link", name="Claim").click()
    expect(page).to_have_url(re.compile(rf"/identities/{orphan.pk}/claim/$"))
    expect(page.locator("main h1")).to_have_text("Claim ledger-bot")
    page.get_by_role("button", name="Claim it").click()
    expect(page.locator(".field.has-error")).to_have_count(1)
    expect(page.locator(".field.has-error")).to_contain_text("Reason")
    expect(page.locator("#id_reason_error")).to_contain_text("This field is required")
    assert not OwnershipClaim.objects.exists()

    page.fill("#id_reason", WHY)
    page.get_by_role("button", name="Claim it").click()
    claim = OwnershipClaim.objects.get()
    expect(page).to_have_url(re.compile(rf"/claims/{claim.pk}/$"))
    expect(page.locator(".msg-success")).to_contain_text("Claimed ledger-bot; a reviewer decides.")
    expect(page.locator("main h1")).to_have_text(f"Claim #{claim.pk}: ledger-bot")
    expect(page.locator("main .badge-pending")).to_have_text(WAITING)
    expect(page.locator("main")).to_contain_text("not you: you claimed it")
    expect(page.get_by_role("form", name="Approve")).to_have_count(0)
    assert claim.claimant == bob and claim.state == ClaimState.PENDING

    # rita sees it waiting for her, from the sidebar, and approves it.
    page.context.clear_cookies()
    login(page, rita)
    expect(_sidebar_link(page).locator(".badge")).to_have_text("1")
    _sidebar_link(page).click()
    expect(page.locator("nav[aria-label='Whose'] [aria-current=page]")).to_have_text("Waiting for me")
    expect(page.locator("main table")).to_contain_text("ledger-bot")
    page.locator("main table").get_by_role("link", name=f"#{claim.pk}").click()
    expect(page.locator("main")).to_contain_text(WHY)
    page.get_by_role("button", name="Approve: make the claimant primary owner").click()
    expect(page.locator(".msg-success")).to_contain_text("bob is now the primary owner of ledger-bot.")
    expect(page.locator("main .badge-approved")).to_have_text("Approved")
    expect(page.locator("main")).to_contain_text("Approved by rita")
    expect(page.get_by_role("form", name="Approve")).to_have_count(0)
    expect(_sidebar_link(page).locator(".badge")).to_have_count(0)

    # bob now answers for it: the identity's page names him primary owner, and alice a backup.
    page.context.clear_cookies()
    login(page, bob)
    page.goto(f"/identities/{orphan.pk}/")
    owners = page.get_by_role("region", name="Owners")
    expect(owners.locator("li", has_text="(bob)")).to_contain_text("Primary owner")
    expect(owners.locator("li", has_text="(alice)")).to_contain_text("Backup owner")
    expect(owners).not_to_contain_text("it is orphaned")
    roles = {o.person.username: o.role for o in orphan.ownerships.select_related("person")}
    assert roles == {"bob": OwnerRole.PRIMARY, "alice": OwnerRole.BACKUP}
    assert blocked == []


def test_an_outsider_gets_neither_the_orphans_nor_the_claim(page, login, alice, bob, charlie, make_identity):
    blocked = csp_watch(page)
    claim = claim_create(actor=bob, identity=_orphan(make_identity, alice), reason=WHY)

    login(page, charlie)
    response = page.goto("/claims/orphaned/")
    assert response.status == 403
    expect(page.locator("body")).not_to_contain_text("ledger-bot")
    response = page.goto(f"/claims/{claim.pk}/")
    assert response.status == 404
    expect(page.locator("main")).to_contain_text("Nothing here")
    expect(page.locator("body")).not_to_contain_text("ledger-bot")
    assert blocked == []


def test_a_reviewer_claims_nothing_and_only_refuses_a_claimant_who_may_no_longer_own(page, login, alice, bob, rita, make_identity):
    blocked = csp_watch(page)
    orphan = _orphan(make_identity, alice)
    claim = claim_create(actor=bob, identity=orphan, reason=WHY)
    bob.groups.clear()  # bob lost the owner role while his claim waited

    login(page, rita)
    page.goto("/claims/orphaned/")
    row = page.locator("main table tr", has_text="ledger-bot")
    expect(row.get_by_role("link", name="Claim")).to_have_count(0)  # a reviewer may not be made an owner
    expect(page.locator("main")).to_contain_text("Only people with the owner or security admin role claim one")

    page.goto(f"/claims/{claim.pk}/")
    decision = page.get_by_role("region", name="Decision")
    expect(decision.locator(".alert-error")).to_contain_text("bob has no role, and only people with the owner or security admin role can own an identity")
    expect(page.get_by_role("button", name="Approve: make the claimant primary owner")).to_have_count(0)
    decision.get_by_label("Why not").fill("bob no longer answers for identities.")
    decision.get_by_role("button", name="Refuse").click()
    expect(page.locator("main .badge-rejected")).to_have_text("Rejected")
    assert OwnershipClaim.objects.get().state == ClaimState.REJECTED
    assert {o.person.username for o in orphan.ownerships.select_related("person")} == {"alice"}
    assert blocked == []
