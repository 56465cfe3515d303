"""The tasks list in a real browser: an owner opens it from the menu, sees her agents' tasks
only, narrows them to one agent and exports what she sees."""

import pytest
from playwright.sync_api import expect

from tests.tokens.conftest import get_token, grant, make_agent, oauth, crm  # noqa: F401

from .test_token_pages import csp_watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_owner_finds_one_agents_tasks_from_the_menu(page, login, alice, bob, make_agent, get_token):
    blocked = csp_watch(page)
    get_token(make_agent(alice, name="reporting-agent"))
    get_token(make_agent(alice, name="triage-agent"))
    get_token(make_agent(bob, name="bobs-agent"))

    login(page, alice)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks").click()
    expect(page.locator("h1")).to_have_text("Tasks")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)  # hers, not bob's
    expect(page.locator("main")).not_to_contain_text("bobs-agent")
    expect(rows.first.locator(".badge-open")).to_have_text("open")

    page.get_by_label("Identity", exact=True).fill("triage-agent")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("triage-agent")
    assert "identity=triage-agent" in page.url
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = open(download.value.path()).read()
    assert "triage-agent" in exported and "reporting-agent" not in exported

    page.get_by_label("Opened since").fill("2026-01-01")
    page.get_by_label("State").select_option("ended")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("main")).to_contain_text("No task matches these filters")
    assert blocked == []
