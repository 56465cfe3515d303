"""Unused access in a real browser: grants and identities nobody uses, found and taken away."""

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.test_token_pages import csp_watch
from tests.tokens.conftest import agent, crm, grant, make_agent, token_request  # noqa: F401  (fixtures)
from inventory.models import AIIdentity, Status
from tokens.models import Grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_security_admin_finds_unused_access_and_revokes_it(page, login, sam, agent, crm, grant):
    blocked = csp_watch(page)
    since = timezone.now() - timedelta(days=40)
    used = grant(agent, crm, ["tickets:read"], starts_at=since)
    idle = grant(agent, crm, ["tickets:write"], starts_at=since)
    assert token_request(Client(), agent, scope="tickets:read").status_code == 200
    call_command("grant_usage", stdout=io.StringIO())  # the sweep's hourly step

    login(page, sam)
    card = page.get_by_role("region", name="Unused access")  # on the dashboard, loaded with htmx
    expect(card.locator("tbody tr")).to_have_count(1)
    expect(card.locator("tbody tr")).to_contain_text("tickets:write")
    page.goto("/grants/")
    page.get_by_role("navigation", name="Grant state").get_by_role("link", name="Unused").click()
    expect(page).to_have_url(re.compile(r"/grants/\?state=unused$"))
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("tickets:write")
    expect(rows.first).to_contain_text("Unused for 30 days")

    rows.first.get_by_role("link", name="Revoke…").click()
    page.fill("#id_reason", "Never used in 30 days: the agent only reads tickets.")
    page.get_by_role("button", name="Revoke grant").click()
    expect(page.locator(".msg-success")).to_be_visible()
    idle.refresh_from_db()
    assert idle.revoked_at is not None and Grant.objects.get(pk=used.pk).revoked_at is None

    page.goto("/grants/?state=unused")
    expect(page.locator("main")).to_contain_text("No unused access")
    assert blocked == []


def test_an_owner_removes_the_scope_their_agent_never_uses(page, login, alice, agent, crm, grant):
    blocked = csp_watch(page)
    both = grant(agent, crm, ["tickets:read", "tickets:write"], starts_at=timezone.now() - timedelta(days=40))
    assert token_request(Client(), agent, scope="tickets:read").status_code == 200
    call_command("grant_usage", stdout=io.StringIO())  # the sweep's hourly step

    login(page, alice)
    page.goto(f"/identities/{agent.identity.pk}/")
    access = page.locator("#access")
    expect(access.locator("tbody tr").first).to_contain_text("Unused")
    access.get_by_role("link", name="Remove scopes…").click()
    expect(page.get_by_label("tickets:write: not used in the last 30 days")).to_be_checked()
    expect(page.get_by_label("tickets:read: used in the last 30 days")).not_to_be_checked()
    page.get_by_role("button", name="Remove scopes").click()
    expect(page).to_have_url(re.compile(rf"/identities/{agent.identity.pk}/#access$"))
    expect(page.locator(".msg-success")).to_contain_text("now holds tickets:read on CRM")
    expect(page.locator("#access tbody tr").first).not_to_contain_text("tickets:write")
    both.refresh_from_db()
    assert both.scopes == ["tickets:read"]
    assert blocked == []


def test_a_security_admin_clears_unused_scopes_of_several_grants_in_one_go(page, login, sam, agent, make_agent, crm, grant):
    blocked = csp_watch(page)
    since = timezone.now() - timedelta(days=40)
    both = grant(agent, crm, ["tickets:read", "tickets:write"], starts_at=since)
    other = make_agent()
    idle = grant(other, crm, ["tickets:write"], starts_at=since)
    assert token_request(Client(), agent, scope="tickets:read").status_code == 200
    call_command("grant_usage", stdout=io.StringIO())

    login(page, sam)
    page.goto("/grants/?state=unused")
    page.get_by_label("Choose every grant on this page you may change").check()
    expect(page.get_by_label(f"Choose the grant of {agent.identity.name} on CRM")).to_be_checked()
    expect(page.get_by_label(f"Choose the grant of {other.identity.name} on CRM")).to_be_checked()
    expect(page.locator("#id_bulk_reason")).to_have_value("Not used in the last 30 days.")
    page.get_by_role("button", name="Remove the unused scopes of the grants ticked").click()
    expect(page.locator(".msg-success")).to_contain_text("1 grant narrowed; 1 revoked (every scope unused).")
    expect(page.locator("main")).to_contain_text("No unused access")
    both.refresh_from_db()
    idle.refresh_from_db()
    assert both.scopes == ["tickets:read"] and idle.revoked_at is not None
    assert blocked == []


def test_an_owner_finds_agents_nothing_uses_and_suspends_them(page, login, alice, make_agent, crm, grant):
    blocked = csp_watch(page)
    quiet, retired, busy = make_agent(name="quiet-agent"), make_agent(name="retired-agent"), make_agent(name="busy-agent")
    grant(busy, crm, ["tickets:read"])
    assert token_request(Client(), busy).status_code == 200
    AIIdentity.objects.update(status_changed_at=timezone.now() - timedelta(days=40))

    login(page, alice)
    card = page.get_by_role("region", name="Unused identities")  # on the dashboard, loaded with htmx
    expect(card.locator("tbody tr")).to_have_count(2)
    card.get_by_role("link", name="All 2 unused identities").click()
    expect(page).to_have_url(re.compile(r"/identities/unused/$"))
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Identities")).to_have_attribute("aria-current", "page")
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("main table")).not_to_contain_text("busy-agent")

    page.get_by_label("Choose every identity on this page you may suspend").check()
    expect(page.get_by_label("Choose quiet-agent")).to_be_checked()
    page.get_by_label("Choose quiet-agent").uncheck()
    page.fill("#id_bulk_reason", "Retired with the old billing system.")
    page.get_by_role("button", name="Suspend the identities ticked").click()
    expect(page.locator(".msg-success")).to_contain_text("1 identity suspended")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("quiet-agent")
    assert AIIdentity.objects.get(pk=retired.identity.pk).status == Status.SUSPENDED
    assert AIIdentity.objects.get(pk=quiet.identity.pk).status == Status.ACTIVE

    page.goto(f"/identities/{quiet.identity.pk}/")
    expect(page.locator("#access")).to_contain_text("No token in the last 30 days")
    assert blocked == []
