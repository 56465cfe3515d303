"""Every page of a populated portal passes axe-core's WCAG 2 A and AA rules (serious and
critical ones), as each persona sees it: colour contrast, labels, names of controls, headings,
table headers, ARIA. axe runs in the real browser, on the pages as they render."""

import re
import uuid

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from inventory.models import AIIdentity, Status
from tests.page_quiet import wait_until_quiet
from tokens.models import AccessReview, Delegation, IssuedToken, Service, Task, WorkloadCredential

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
    wait_until_quiet(page)  # the panels htmx loads after the page
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


def _identity_name_part(identity) -> str:
    """A few letters of a name, typed into an identity picker to open its list."""
    return identity.name[:4]


def _pages_a_security_admin_confirms_on(page):
    """A security admin's confirmation pages, an identity's task history, the lists filtered by
    identity and by service (and by what matches nothing), the grant form with the identity
    list open, and the page of a person who owns nothing. Yields a name for each page as it
    stands ready to check."""
    now = timezone.now()
    credential = WorkloadCredential.objects.filter(enabled=True).select_related("identity").first()
    task = Task.objects.filter(ended_at__isnull=True).first()
    token = IssuedToken.objects.filter(revoked_at__isnull=True, expires_at__gt=now).first()
    delegation = Delegation.objects.filter(revoked_at__isnull=True).first()
    review = AccessReview.objects.filter(closed_at__isnull=True).first()
    owns_nothing = get_user_model().objects.filter(is_active=True, ownerships__isnull=True).exclude(username="sam").first()
    assert None not in (credential, task, token, delegation, review, owns_nothing)
    identity = task.identity
    service = Service.objects.filter(pk__in=Task.objects.values("service_id")).first()
    for path in (
        f"/identities/{credential.identity_id}/credentials/{credential.pk}/disable/",
        f"/identities/{task.identity_id}/tasks/{task.pk}/end/",
        f"/identities/{token.identity_id}/tokens/{token.pk}/revoke/",
        f"/identities/{delegation.principal_id}/delegations/{delegation.pk}/revoke/",
        f"/access-reviews/{review.pk}/close/",
        f"/identities/{identity.pk}/tasks/",
        f"/identities/{identity.pk}/tasks/?state=open&service={task.service_id}",
        f"/identities/{identity.pk}/tasks/?state=ended&service={service.pk}",
        f"/users/{owns_nothing.pk}/",
    ):
        assert page.goto(path).status == 200, path
        yield path
    for listing in ("/grants/", "/credentials/", "/access-requests/?view=all", "/approvals/", "/exposures/"):
        join = "&" if "?" in listing else "?"
        for query in (f"identity={identity.name}", "identity=no-such-identity-anywhere"):
            path = f"{listing}{join}{query}"
            assert page.goto(path).status == 200, path
            yield path
    for listing in ("/grants/", "/access-requests/?view=all", "/approvals/"):
        join = "&" if "?" in listing else "?"
        path = f"{listing}{join}service={service.pk}"
        assert page.goto(path).status == 200, path
        yield path
    page.goto("/grants/new/")
    page.locator("#id_identity").fill(_identity_name_part(AIIdentity.objects.filter(status=Status.ACTIVE).first()))
    expect(page.locator("#id_identity-results [role=option]").first).to_be_visible()
    yield "/grants/new/ with the identity list open"


def _pages_an_owner_acts_in_bulk_on(page):
    """An owner's identity list with its boxes, the bulk confirmation (two identities ticked,
    Suspend… pressed), the same refused (one of them not active) and refused whole, and the
    access request form with the identity list open."""
    alice = get_user_model().objects.get(username="alice")
    mine = AIIdentity.objects.filter(ownerships__person=alice, ownerships__role="primary").order_by("name")
    active = list(mine.filter(status=Status.ACTIVE)[:2])
    inactive = mine.exclude(status=Status.ACTIVE).exclude(status=Status.OFFBOARDED).first()
    assert len(active) == 2 and inactive is not None
    for chosen, label in ((active, "confirmation"), ([active[0], inactive], "confirmation, refused")):
        page.goto("/identities/")
        yield "/identities/ with its boxes"
        for identity in chosen:
            page.get_by_role("checkbox", name=f"Choose {identity.name}", exact=True).check()
        page.get_by_role("group", name="With the identities ticked").get_by_role("button", name="Suspend…").click()
        expect(page.get_by_role("heading", name="Suspend 2 identities")).to_be_visible()
        yield f"/identities/bulk/suspend/ ({label})"
    # A box of the list names an identity gone since it loaded: nothing is done, in a 404's words.
    page.goto("/identities/")
    box = page.get_by_role("checkbox", name=f"Choose {active[0].name}", exact=True)
    box.check()
    box.evaluate(f"box => box.value = '{uuid.uuid4()}'")
    page.get_by_role("group", name="With the identities ticked").get_by_role("button", name="Suspend…").click()
    expect(page.get_by_role("heading", name="Nothing was done")).to_be_attached()
    yield "/identities/bulk/suspend/ (refused whole)"
    page.goto("/access-requests/new/")
    page.locator("#id_identity").fill(_identity_name_part(active[0]))
    expect(page.locator("#id_identity-results [role=option]").first).to_be_visible()
    yield "/access-requests/new/ with the identity list open"


def _pages_a_reporter_reads(page):
    assert page.goto("/exposures/mine/").status == 200
    expect(page.locator("main tbody tr, main li").first).to_be_visible()  # at least one report
    yield "/exposures/mine/"


# The pages that act on one thing or show a filtered part: each as the persona who uses it.
TODAYS_PAGES = {"sam": _pages_a_security_admin_confirms_on, "alice": _pages_an_owner_acts_in_bulk_on, "rita": _pages_a_reporter_reads}


@pytest.mark.parametrize("persona", TODAYS_PAGES)
def test_confirmations_filtered_lists_and_bulk_pages_are_accessible(page, demo, persona):
    axe = Axe()
    sign_in(page, persona)
    problems = {}
    for name in TODAYS_PAGES[persona](page):
        violations = serious_violations(page, axe)
        if violations:
            problems[name] = violations
    assert problems == {}
