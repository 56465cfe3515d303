"""The tokens list in a real browser: an owner finds one agent's live token, revokes it with
the confirmation, and is back on the list as she filtered it."""

import pytest
from playwright.sync_api import expect

from tests.tokens.conftest import get_token, grant, make_agent, oauth, crm  # noqa: F401
from tokens.models import IssuedToken

from .test_token_pages import csp_watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_owner_filters_the_tokens_list_and_revokes_one(page, login, alice, bob, make_agent, get_token):
    blocked = csp_watch(page)
    reporting, triage = make_agent(alice, name="reporting-agent"), make_agent(alice, name="triage-agent")
    issued = {"reporting": get_token(reporting), "triage": get_token(triage)}
    get_token(make_agent(bob, name="bobs-agent"))
    target = IssuedToken.objects.get(identity=triage.identity)

    login(page, alice)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tokens").click()
    expect(page.locator("h1")).to_have_text("Tokens")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)  # hers, not bob's
    expect(page.locator("main")).not_to_contain_text("bobs-agent")

    page.get_by_label("Identity").fill("triage-agent")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("triage-agent")
    assert "identity=triage-agent" in page.url

    rows.first.get_by_role("link", name="Revoke…").click()
    expect(page.get_by_role("region", name="What happens")).to_contain_text("Revoking is final")
    page.get_by_label("Reason").fill("Agent moved to a new key")
    page.get_by_role("button", name="Revoke the token").click()
    expect(page.locator(".msg-success")).to_contain_text("Revoked 1 token of triage-agent")
    assert "identity=triage-agent" in page.url  # back on the list as she filtered it
    expect(page.locator("main")).to_contain_text("No token matches these filters")

    page.get_by_role("navigation", name="Token state").get_by_role("link", name="Revoked").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Agent moved to a new key")
    expect(rows.first.locator(".badge-revoked")).to_have_text("revoked")
    target.refresh_from_db()
    assert target.revoked_at is not None and target.revoke_reason == "Agent moved to a new key"
    assert all(token["access_token"] not in page.content() for token in issued.values())
    assert blocked == []
