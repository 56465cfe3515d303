"""Compliance staff in a real browser: from the controls to the identity that breaks one."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.test_token_pages import csp_watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_compliance_staff_follow_a_failing_control_to_the_identity_behind_it(page, login, carol, bob, make_identity):
    blocked = csp_watch(page)
    orphan = make_identity(bob, name="forgotten-bot")
    bob.is_active = False
    bob.save()

    login(page, carol)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Compliance").click()
    expect(page.locator("main h1")).to_have_text("Compliance")
    expect(page.get_by_role("img", name="Controls by status")).to_be_visible()
    page.get_by_role("link", name="NHIP-01 Every identity has an active owner").click()
    expect(page.locator("main")).to_contain_text("no active owner")
    page.get_by_role("link", name="forgotten-bot").click()
    expect(page).to_have_url(re.compile(f"/identities/{orphan.pk}/$"))
    # The figure links to the list it counts, which shows as many.
    page.go_back()
    figure = page.locator("a[href='/identities/?orphaned=true']")
    expect(figure).to_have_text("1")
    figure.click()
    expect(page.locator("main")).to_contain_text("1 identity")
    expect(page.get_by_role("link", name="forgotten-bot")).to_be_visible()
    page.goto("/compliance/frameworks/")
    expect(page.locator("#owasp-asi")).to_contain_text("OWASP Agentic AI Top 10 A2")
    with page.expect_download() as download:
        page.goto("/compliance/")
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename.startswith("nhi-compliance-") and download.value.suggested_filename.endswith(".csv")
    with page.expect_download() as oscal:
        page.get_by_role("link", name="Export OSCAL").click()
    assert oscal.value.suggested_filename.endswith(".oscal.json")
    assert '"assessment-results"' in open(oscal.value.path()).read()
    assert blocked == []


def test_a_pack_from_a_day_not_begun_is_refused_at_the_field_which_reads_out_why(page, login, carol):
    today = timezone.localdate()
    tomorrow = (today + timedelta(days=1)).isoformat()
    login(page, carol)
    page.goto("/compliance/")
    since = page.get_by_label("Since")
    assert since.get_attribute("max") == today.isoformat()
    since.fill(tomorrow)
    assert since.evaluate("input => input.validity.rangeOverflow")  # the browser holds it back first
    page.goto(f"/compliance/evidence-pack.zip?since={tomorrow}")  # as a browser without that check sends it
    expect(page.locator("main h1")).to_have_text("Compliance")
    since = page.get_by_label("Since")
    expect(since).to_have_value(tomorrow)
    expect(since).to_have_accessible_description(re.compile(r"from this day on\. ?Choose a day that has begun\.$"))
