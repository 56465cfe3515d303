"""A security admin in a real browser checks that the background work runs."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from nhiportal.sweep.steps import STEPS
from tests.browser.test_token_pages import csp_watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_security_admin_sees_the_sweep_go_from_never_run_to_ok(page, login, sam):
    blocked = csp_watch(page)
    login(page, sam)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Background work").click()
    expect(page.locator("main h1")).to_have_text("Background work")
    expect(page.locator("main")).to_contain_text("The sweep has not run yet")

    call_command("governance_sweep", stdout=open("/dev/null", "w"))
    page.reload()
    steps = page.get_by_role("region", name="Steps")
    expect(steps.locator("tbody tr")).to_have_count(len(STEPS))
    expect(steps.locator(".badge-ok")).to_have_count(len(STEPS))
    expect(steps.get_by_role("row", name="compliance_snapshot")).to_contain_text("daily")
    assert blocked == []
