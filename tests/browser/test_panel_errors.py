"""A section loaded after the page (htmx) whose request fails says so in place, in a real
browser, instead of "Loading…" forever (static/js/panel_errors.js)."""

import pytest
from playwright.sync_api import expect

from nhiportal.people.services import person_roles_set
from tests.browser.test_token_pages import csp_watch
from tests.page_quiet import wait_until_quiet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FAILED = "This section could not be loaded. Reload the page."


def test_a_panel_the_server_refuses_says_it_could_not_be_loaded(page, login, rita, sam, alice, make_identity):
    blocked = csp_watch(page)
    identity = make_identity(alice)
    login(page, rita)
    page.goto(f"/identities/{identity.pk}/")
    wait_until_quiet(page)
    # rita stops being a reviewer with the page open: the panel she opens next is answered 404.
    person_roles_set(person=rita, roles=[], actor=sam)
    connect = page.get_by_role("region", name="Connect the agent")
    with page.expect_response(lambda response: "/connect-panel/" in response.url) as answer:
        connect.locator("summary").click()
    assert answer.value.status == 404
    expect(connect.get_by_role("alert")).to_have_text(FAILED)
    expect(connect).not_to_contain_text("Loading…")
    # The panels that loaded before are untouched.
    expect(page.get_by_role("region", name="Risk").get_by_role("alert")).to_have_count(0)
    assert blocked == []


def test_a_panel_whose_request_never_gets_an_answer_says_so(page, login, alice, make_identity):
    identity = make_identity(alice)
    login(page, alice)
    # The connection drops (as on a network failure): htmx gets no answer at all.
    page.route("**/risk-panel/", lambda route: route.abort())
    page.goto(f"/identities/{identity.pk}/")
    risk = page.get_by_role("region", name="Risk")
    expect(risk.get_by_role("alert")).to_have_text(FAILED)
    expect(risk).not_to_contain_text("Loading…")
    expect(page.get_by_role("region", name="Activity")).not_to_contain_text(FAILED)


def test_a_dashboard_card_that_fails_keeps_its_heading_and_says_so(page, login, alice):
    page.route("**/grants/unused-card/", lambda route: route.abort())
    login(page, alice)
    card = page.locator("main .card", has=page.get_by_role("heading", name="Unused access"))
    expect(card.get_by_role("alert")).to_have_text(FAILED)
    expect(card).not_to_contain_text("Loading…")
    expect(page.get_by_role("region", name="Keys to rotate")).to_be_visible()  # the others load as usual
