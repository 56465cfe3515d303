"""The person page in a real browser: a security admin hands a leaver's identities over, then
deactivates them; and signs someone out of every browser."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from inventory.models import OwnerRole
from nhiportal.people.roles import OWNER
from tests.browser.test_accessibility import serious_violations
from tests.browser.test_token_pages import csp_watch
from tests.conftest import _person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_security_admin_hands_a_leavers_agents_over_then_deactivates_them(page, login, sam, alice, make_identity):
    blocked = csp_watch(page)
    grace = _person("grace", OWNER)
    grace.first_name, grace.last_name = "Grace", "Mensah"
    grace.save()
    solo = make_identity(alice, name="solo-agent")

    login(page, sam)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    expect(page).to_have_url(re.compile(r"/users/$"))
    page.get_by_role("link", name="alice", exact=True).click()
    expect(page.locator("#deactivate .alert-warn")).to_contain_text("1 identity would be left without an active owner")

    page.locator("#id_handover-successor").fill("mensah")
    page.locator("#id_handover-successor-results [role=option]").first.click()
    page.fill("#id_handover-reason", "Alice moves to the data team.")
    page.get_by_role("button", name="Hand over").click()
    expect(page.locator(".msg-success")).to_contain_text("grace now answers for 1 identity and 0 services alice owned.")
    expect(page.locator("#deactivate .alert-warn")).to_have_count(0)
    assert {(o.person.username, o.role) for o in solo.ownerships.select_related("person")} == {("grace", OwnerRole.PRIMARY)}

    page.fill("#id_deactivate-reason", "Left the company.")
    page.get_by_role("button", name="Deactivate").click()
    expect(page.locator(".msg-success")).to_contain_text("alice is deactivated")
    expect(page.get_by_role("button", name="Reactivate")).to_be_visible()
    assert not get_user_model().objects.get(pk=alice.pk).is_active
    assert blocked == []


def test_the_handover_picker_offers_only_people_who_may_own_the_leavers_identities(page, login, sam, alice, carol, make_identity):
    grace = _person("grace", OWNER)
    for person, first in ((grace, "Grace"), (carol, "Carol")):  # carol: compliance, a namesake who may not own
        person.first_name, person.last_name = first, "Mensah"
        person.save()
    make_identity(alice, name="solo-agent")

    login(page, sam)
    page.goto(f"/users/{alice.pk}/")
    page.locator("#id_handover-successor").fill("mensah")
    options = page.locator("#id_handover-successor-results [role=option]")
    expect(options).to_have_count(1)
    expect(options).to_contain_text("Grace Mensah")
    expect(page.locator("#handover")).to_contain_text("Someone with the owner or security admin role")


def test_a_security_admin_signs_a_person_out_of_every_browser(page, browser, live_server, login, sam, alice):
    blocked = csp_watch(page)
    alices = browser.new_context(base_url=live_server.url).new_page()
    login(alices, alice)

    login(page, sam)
    page.goto(f"/users/{alice.pk}/")
    expect(page.get_by_label("Facts")).to_contain_text("signed in on 1 browser")
    page.fill("#id_sessions-reason", "Laptop stolen.")
    page.get_by_role("button", name="End sessions").click()
    expect(page.locator("#sessions .error")).to_have_text("Tick this to confirm.")  # nothing ended yet
    page.get_by_label("Sign them out of every browser now").check()
    page.get_by_role("button", name="End sessions").click()
    expect(page.locator(".msg-success")).to_contain_text("Ended 1 session of alice (no API token was made in it)")
    expect(page.get_by_label("Facts")).to_contain_text("none open")

    alices.reload()
    expect(alices).to_have_url(re.compile(r"/accounts/login/"))
    alices.context.close()
    assert blocked == []


def test_a_person_signs_out_a_browser_they_do_not_recognise(page, browser, live_server, login, alice):
    blocked = csp_watch(page)
    unknown_context = browser.new_context(
        base_url=live_server.url, user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0",
    )
    unknown = unknown_context.new_page()
    login(unknown, alice)

    login(page, alice)
    page.get_by_role("link", name="Sessions").click()
    sessions = page.locator("#sessions tbody tr")
    expect(sessions).to_have_count(2)
    expect(sessions.first).to_contain_text("This browser")
    expect(sessions.nth(1)).to_contain_text("Firefox 140 on Windows")
    expect(sessions.nth(1)).to_contain_text("127.0.0.1")
    assert serious_violations(page, Axe()) == []
    page.get_by_role("button", name="Sign out Firefox 140 on Windows at 127.0.0.1").click()
    expect(page.locator(".msg-success")).to_contain_text("Signed that session out")
    expect(sessions).to_have_count(1)

    unknown.reload()
    expect(unknown).to_have_url(re.compile(r"/accounts/login/"))
    unknown_context.close()
    assert blocked == []


def test_the_password_rules_read_as_the_fields_help(page, login, alice):
    login(page, alice)
    page.goto("/accounts/password/")
    rules = page.locator("#id_new_password1_helptext")
    expect(rules.locator("li")).to_have_count(4)
    # The list keeps the help's small muted type, right under its field.
    hint = page.locator("#id_new_password2_helptext")
    for prop in ("font-size", "color"):
        assert rules.locator("li").first.evaluate(f"li => getComputedStyle(li)['{prop}']") == hint.evaluate(f"p => getComputedStyle(p)['{prop}']")
    expect(page.locator("#id_new_password1")).to_have_accessible_description(re.compile("at least 12 characters"))
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("main h1")).to_have_text("Dashboard")



@pytest.mark.parametrize("owns_something", [True, False], ids=["a hand-over form", "nothing to hand over"])
def test_the_manage_cards_headings_line_up(page, login, sam, bob, make_identity, owns_something):
    # With nothing to hand over, that column is a note, not a form, beside the other forms.
    if owns_something:
        make_identity(bob, name="bobs-agent")
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, sam)
    page.goto(f"/users/{bob.pk}/")
    headings = page.get_by_role("region", name="Manage").locator("h3")
    expect(headings.first).to_have_text("Hand over")
    # The grid's first row, measured in one go: a panel loading above (htmx) moves them all.
    tops = headings.evaluate_all("hs => hs.slice(0, 3).map(h => Math.round(h.getBoundingClientRect().top))")
    assert len(set(tops)) == 1, f"the first row's headings sit at {tops}"
