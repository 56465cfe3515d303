"""Registering an MCP server from its metadata, in a real browser: the form fills in, the admin completes it."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_token_pages import csp_watch
from tests.tokens.json_server import JsonServer
from tokens.models import Service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WELL_KNOWN = "/.well-known/oauth-protected-resource"


@pytest.fixture
def mcp_server():
    server = JsonServer()
    yield server
    server.stop()


def test_a_security_admin_registers_an_mcp_server_from_its_url(page, login, sam, mcp_server):
    blocked = csp_watch(page)
    resource = mcp_server.origin + "/mcp"
    mcp_server.documents[WELL_KNOWN + "/mcp"] = {
        "resource": resource, "resource_name": "Files MCP", "scopes_supported": ["files:read", "files:share"],
        "dpop_bound_access_tokens_required": True, "authorization_servers": ["https://login.other.example"],
    }
    login(page, sam)
    page.goto("/services/new/")
    filler = page.get_by_role("form", name="Fill in from its metadata")
    filler.get_by_label("Service URL").fill(resource)
    filler.get_by_role("button", name="Fill in").click()
    expect(page.get_by_role("status")).to_contain_text("2 scopes, DPoP-bound tokens only")
    expect(page.get_by_role("note")).to_contain_text("https://login.other.example")  # it trusts another authorization server
    expect(page.locator("#id_name")).to_have_value("Files MCP")
    expect(page.locator("#id_audience")).to_have_value(resource)
    expect(page.locator("#id_requires_dpop")).to_be_checked()
    expect(page.locator("#id_scopes-1-name")).to_have_value("files:share")
    page.fill("#id_scopes-0-description", "Read files")
    page.fill("#id_scopes-1-description", "Share a file outside the team")
    page.locator("#id_scopes-1-consequential").check()
    page.get_by_role("button", name="Register service").click()
    expect(page).to_have_url(re.compile(r"/services/\d+/$"))
    expect(page.locator("main")).to_contain_text(f"{mcp_server.origin}{WELL_KNOWN}/mcp")
    service = Service.objects.get(audience=resource)
    assert service.requires_dpop and service.metadata_url == f"{mcp_server.origin}{WELL_KNOWN}/mcp"
    assert sorted(service.scopes.values_list("name", "consequential")) == [("files:read", False), ("files:share", True)]
    assert not blocked
