from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.tokens.conftest import crm, grant, make_agent  # noqa: F401  (fixtures)
from tokens.models import Grant

pytestmark = pytest.mark.browser


def test_a_reviewer_launches_a_review_keeps_one_grant_and_revokes_another(page, login, rita, bob, make_agent, crm, grant):  # noqa: F811
    grant(make_agent(bob, name="needed-agent"), crm, ["tickets:read"])
    gone = grant(make_agent(bob, name="stale-agent"), crm, ["tickets:write"])
    login(page, rita)
    page.click("nav >> text=Access reviews")
    page.click("text=Launch a review")
    page.fill("input[name=name]", "Q4 CRM access")
    page.select_option("select[name=service]", label="CRM")
    page.fill("input[name=due]", (timezone.localdate() + timedelta(days=14)).isoformat())
    page.click("button:has-text('Launch')")
    page.locator("tr", has_text="needed-agent").locator("button:has-text('Keep')").click()
    page.locator(".msg", has_text="needed-agent on CRM: kept.").wait_for()  # the page came back
    stale = page.locator("tr", has_text="stale-agent")
    stale.locator("input[name=reason]").fill("the project ended")
    stale.locator("button:has-text('Revoke')").click()
    page.locator(".msg", has_text="stale-agent on CRM: revoked").wait_for()
    assert "1 kept, 1 revoked, 0 waiting" in page.locator("section[aria-label='Progress']").inner_text()
    gone.refresh_from_db()
    assert gone.revoked_at is not None and Grant.objects.filter(revoked_at__isnull=True).count() == 1


def test_a_reviewer_ticks_every_grant_and_keeps_them_in_one_go(page, login, rita, bob, make_agent, crm, grant):  # noqa: F811
    from tokens.access_reviews import access_review_launch

    for name in ("first-agent", "second-agent", "third-agent"):
        grant(make_agent(bob, name=name), crm, ["tickets:read"])
    review = access_review_launch(actor=rita, name="Bulk", due=timezone.localdate(), service=crm)
    login(page, rita)
    page.goto(f"/access-reviews/{review.pk}/")
    page.check("input[data-check-all=item]")
    page.click("button:has-text('Keep the ticked grants')")
    assert "Kept 3 grants." in page.locator(".msg").first.inner_text()
    assert "3 kept, 0 revoked, 0 waiting" in page.locator("section[aria-label='Progress']").inner_text()


def test_a_reviewer_closes_a_review_after_reading_what_happens_to_the_undecided_grants(page, login, rita, bob, make_agent, crm, grant):  # noqa: F811
    from tokens.access_reviews import access_review_launch

    quiet = grant(make_agent(bob, name="quiet-agent"), crm, ["tickets:read"])
    review = access_review_launch(actor=rita, name="Closing", due=timezone.localdate(), service=crm, revoke_unreviewed=True)
    login(page, rita)
    page.goto(f"/access-reviews/{review.pk}/")
    page.get_by_role("link", name="Close the review…").click()
    expect(page.locator("#closing-revokes")).to_contain_text("closing it now revokes 1 grant nobody decided")
    quiet.refresh_from_db()
    assert quiet.revoked_at is None  # reading the page changed nothing
    page.get_by_role("button", name="Close the review").click()
    expect(page.locator(".msg-success")).to_contain_text("Closed: 0 kept, 1 revoked (1 of them because nobody decided).")
    expect(page.locator("section[aria-label='Closed']")).to_contain_text("This round revoked what nobody kept")
    quiet.refresh_from_db()
    assert quiet.revoked_at is not None
    assert review.items.get().reason == "not reviewed before the review was closed"  # closed on its due date, not after it
