"""Every page of a populated portal passes axe-core's WCAG 2 A and AA rules (serious and
critical ones), as each persona sees it: colour contrast, labels, names of controls, headings,
table headers, ARIA. axe runs in the real browser, on the pages as they render."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.db import connection

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "demo-pass-2026"
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
# One page behind each list: the first link of this shape the list shows.
DETAILS = {
    "/identities/": r"^/identities/[0-9a-f-]{36}/$",
    "/services/": r"^/services/\d+/$",
    "/campaigns/": r"^/campaigns/\d+/$",
    "/access-reviews/": r"^/access-reviews/\d+/$",
    "/access-requests/": r"^/access-requests/\d+/$",
    "/claims/": r"^/claims/\d+/$",
    "/attestations/": r"^/attestations/\d+/$",
    "/exposures/": r"^/exposures/\d+/$",
    "/compliance/": r"^/compliance/controls/[\w-]+/$",
    "/policy/": r"^/policy/versions/\d+/$",
    "/users/": r"^/users/\d+/$",
}


@pytest.fixture
def demo(db):
    if connection.vendor != "sqlite":
        pytest.skip("rendering, not the database, is under test: once, on SQLite, is enough")
    call_command("demo_data", "--identities", "30", stdout=open("/dev/null", "w"))


def sign_in(page, username):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def pages_of(page) -> list[str]:
    """The pages the sidebar leads to, and one detail page behind each list."""
    page.goto("/")
    links = page.get_by_role("navigation", name="Main").locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    paths = [href for href in dict.fromkeys(links) if href.startswith("/") and not href.startswith(("/admin", "/api"))]
    for listing, shape in DETAILS.items():
        if listing in paths:
            page.goto(listing)
            hrefs = page.locator("main a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
            paths += [href for href in hrefs if href and re.match(shape, href)][:1]
    return paths + ["/accounts/sessions/"]


def serious_violations(page, axe) -> list[str]:
    page.wait_for_load_state("networkidle")  # the panels htmx loads after the page
    found = axe.run(page, options=WCAG_AA).response["violations"]
    return [f"{v['id']}: {node['html'][:140]}" for v in found if v["impact"] in ("serious", "critical") for node in v["nodes"]]


def test_the_sign_in_page_is_accessible(page, demo):
    page.goto("/accounts/login/")
    assert serious_violations(page, Axe()) == []


# A security admin opens every page; an owner sees the owners' variants (their buttons and
# panels). Read-only roles see the same pages with less on them.
@pytest.mark.parametrize("persona", ["sam", "alice"])
def test_every_page_a_persona_opens_is_accessible(page, demo, persona):
    axe = Axe()
    sign_in(page, persona)
    paths = pages_of(page)
    assert len(paths) >= 8
    problems = {}
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, path
        violations = serious_violations(page, axe)
        if violations:
            problems[path] = violations
    assert problems == {}


def test_the_busiest_pages_are_accessible_on_a_phone_too(page, demo):
    # A narrow screen makes tables and charts scroll sideways: each must be reachable by keyboard.
    axe = Axe()
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "sam")
    page.goto("/identities/")
    identity = page.locator("main a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    detail = next(href for href in identity if href and re.match(DETAILS["/identities/"], href))
    problems = {}
    for path in ("/", "/identities/", detail, "/grants/", "/policy/decisions/", "/trust-domains/", "/federated-issuers/", "/credentials/"):
        assert page.goto(path).status == 200, path
        violations = serious_violations(page, axe)
        if violations:
            problems[path] = violations
    assert problems == {}
