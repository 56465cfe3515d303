"""On a phone (390px wide) the pages fit the screen: tables scroll inside their box, cards
keep to their column, long ids wrap, facts stack, chart labels stay legible; on a desktop the
identity page's action buttons line up."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from tests.page_quiet import wait_until_quiet
from tests.tokens.conftest import agent, crm, get_token, grant, make_agent, oauth  # noqa: F401  (fixtures)
from tokens.models import Exposure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def _width(page, path) -> int:
    """How wide the page is once loaded, the htmx cards and panels too."""
    page.goto(path)
    wait_until_quiet(page)
    return page.evaluate("() => document.documentElement.scrollWidth")


def test_lists_the_dashboard_and_an_exposure_do_not_scroll_sideways_on_a_phone(page, login, sam, alice, agent, make_agent, crm, grant, get_token):
    token = get_token(agent)["access_token"]
    idle = make_agent(alice, name="idle-agent")
    grant(idle, crm, ["tickets:write"], starts_at=timezone.now() - timedelta(days=40))  # unused: a table in a dashboard card
    call_command("grant_usage", stdout=io.StringIO())
    reporter = Client()
    reporter.force_login(sam)
    reporter.post("/exposures/report/", {"token": token, "where_found": "build log #812"})
    page.set_viewport_size(PHONE)
    login(page, sam)
    paths = ("/", "/grants/", f"/exposures/{Exposure.objects.get().pk}/", f"/identities/{agent.identity.pk}/")
    too_wide = {path: width for path in paths if (width := _width(page, path)) > PHONE["width"]}
    assert too_wide == {}


def test_facts_stack_and_chart_labels_stay_legible_on_a_phone(page, login, alice, agent):
    page.set_viewport_size(PHONE)
    login(page, alice)
    label = page.locator(".chart .bar-label").first
    # The size the label is drawn at: its font size in SVG units times the SVG's scale.
    drawn = label.evaluate("t => parseFloat(getComputedStyle(t).fontSize) * t.ownerSVGElement.getBoundingClientRect().width / t.ownerSVGElement.viewBox.baseVal.width")
    assert drawn >= 8.5, f"chart labels are drawn at {drawn:.1f}px"
    page.goto(f"/identities/{agent.identity.pk}/")
    facts = page.get_by_role("region", name="Facts")
    term, value = facts.locator("dt").first.bounding_box(), facts.locator("dd").first.bounding_box()
    assert value["y"] >= term["y"] + term["height"] and abs(value["x"] - term["x"]) < 1  # the value under its label


def test_the_identity_actions_each_have_a_heading_and_their_buttons_line_up(page, login, alice, agent):
    login(page, alice)
    page.goto(f"/identities/{agent.identity.pk}/")
    actions = page.get_by_role("region", name="Actions")
    for heading in ("Suspend", "Offboard", "Attest"):
        expect(actions.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    buttons = [actions.get_by_role("button", name="Suspend"), actions.get_by_role("link", name="Offboard…"), actions.get_by_role("button", name="Attest")]
    bottoms = {round(b.bounding_box()["y"] + b.bounding_box()["height"]) for b in buttons}
    assert len(bottoms) == 1, f"the action buttons end at {sorted(bottoms)}"


def test_the_activity_chart_opens_on_the_latest_day_on_a_phone(page, login, alice, agent, get_token):
    get_token(agent)  # today's column has a bar: the chart is drawn only once there is activity
    page.set_viewport_size(PHONE)
    login(page, alice)
    page.goto(f"/identities/{agent.identity.pk}/")
    chart = page.get_by_role("group", name="Activity by day")
    today = chart.locator("g", has=page.locator("title", has_text=f"{timezone.now():%Y-%m-%d}:"))
    expect(today).to_have_count(1)
    assert chart.evaluate("c => c.scrollWidth > c.clientWidth")  # too wide for the phone: it scrolls
    shown, latest = chart.bounding_box(), today.bounding_box()
    assert shown["x"] <= latest["x"] and latest["x"] + latest["width"] <= shown["x"] + shown["width"], (shown, latest)
    # The oldest days are a swipe away, still in their order: left of the latest.
    oldest = chart.locator("g").first.bounding_box()
    assert oldest["x"] + oldest["width"] <= shown["x"] < latest["x"]
