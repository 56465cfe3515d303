"""On call in a real browser: a security admin is told of an open exposure wherever they are,
and an emergency revoke ends only what was chosen."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_token_pages import _leaky_agent, csp_watch
from tests.tokens.conftest import token_request
from tokens.exposures import exposure_report_token
from tokens.models import IssuedToken

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_security_admin_is_sent_from_the_dashboard_to_the_open_exposure(page, login, sam, alice, make_identity, client):
    blocked = csp_watch(page)
    agent = _leaky_agent(alice, sam, make_identity)
    exposure_report_token(actor=alice, token=token_request(client, agent).json()["access_token"], where_found="public gist")

    login(page, sam)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Exposures")).to_contain_text("1")
    waiting = page.get_by_role("region", name="Waiting for your decision")
    waiting.get_by_role("link", name="1 open exposure to confirm or dismiss").click()
    expect(page).to_have_url(re.compile(r"/exposures/\?state=open$"))
    expect(page.locator("main")).to_contain_text("public gist")
    # Recent activity reads as people do, as on the audit log.
    page.goto("/")
    expect(page.get_by_role("region", name="Recent activity")).to_contain_text("Leak report: filed")
    assert blocked == []


def test_an_on_call_who_forgets_to_pick_the_service_revokes_nothing(page, login, sam, alice, make_identity, client):
    blocked = csp_watch(page)
    agent = _leaky_agent(alice, sam, make_identity)
    token_request(client, agent)

    login(page, sam)
    page.goto("/emergency-revoke/")
    expect(page.locator("#id_service")).to_have_value("")  # "Choose…", not every service
    page.fill("#id_reason", "Drill INC-7")
    page.fill("#id_confirm", "REVOKE")
    page.get_by_role("button", name="Revoke now").click()
    expect(page.locator("#field-id_service.has-error")).to_contain_text("Choose the service whose tokens to revoke, or Every service.")
    assert IssuedToken.objects.get().revoked_at is None

    page.select_option("#id_service", label="Every service")
    page.fill("#id_confirm", "REVOKE")
    page.get_by_role("button", name="Revoke now").click()
    expect(page.locator("#field-id_confirm.has-error")).to_contain_text("Type REVOKE ALL")
    assert IssuedToken.objects.get().revoked_at is None

    page.fill("#id_confirm", "REVOKE ALL")
    page.get_by_role("button", name="Revoke now").click()
    expect(page.locator(".msg-success")).to_contain_text("Revoked 1 live token for every service, held by 1 identity.")
    assert IssuedToken.objects.get().revoked_at is not None
    assert blocked == []
