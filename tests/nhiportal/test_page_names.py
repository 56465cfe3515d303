"""Each page is called one thing: the menu's label is the breadcrumb of the page it opens, and a
page under it starts its breadcrumb with that label, linked; a page's title, heading and last
crumb name the same thing."""

import re
from html import unescape

import pytest

from tests.tokens.conftest import agent, crm, get_token, grant, make_agent, oauth  # noqa: F401  (fixtures)
from tokens.models import Exposure


def crumbs(html: str) -> str:
    """The breadcrumb as read: its text, links and all."""
    inner = re.search(r'<div class="crumbs">(.*?)</div>', html, re.DOTALL).group(1)
    return unescape(re.sub(r"<[^>]+>", "", inner)).strip()


def crumb_links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', re.search(r'<div class="crumbs">(.*?)</div>', html, re.DOTALL).group(1))


def title(html: str) -> str:
    return unescape(re.search(r"<title>(.*?) · NHI Portal</title>", html, re.DOTALL).group(1)).strip()


def heading(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", re.search(r"<h1[^>]*>(.*?)</h1>", html, re.DOTALL).group(1))).strip()


def menu(html: str) -> list[tuple[str, str]]:
    """(label, path) of each link of the main menu, without the counts it shows beside them."""
    nav = re.search(r'<nav class="sidebar" aria-label="Main">(.*?)</nav>', html, re.DOTALL).group(1)
    links = re.findall(r'<a href="(/[^"]*)"[^>]*>(.*?)</a>', nav, re.DOTALL)
    return [(unescape(re.sub(r"<span.*?</span>", "", label)).strip(), path) for path, label in links if 'class="brand"' not in label]


@pytest.mark.parametrize("persona", ["sam", "rita"])
def test_each_menu_item_opens_a_page_whose_breadcrumb_is_its_label(persona, request, client_for):
    client = client_for(request.getfixturevalue(persona))
    items = [(label, path) for label, path in menu(client.get("/").content.decode()) if label not in ("NHI Portal", "API docs")]
    assert len(items) > 10
    wrong = {label: crumbs(page) for label, path in items if crumbs(page := client.get(path).content.decode()) != label}
    assert wrong == {}


def test_the_decision_log_is_named_as_its_menu_item(client_for, rita):
    page = client_for(rita).get("/policy/decisions/").content.decode()
    assert (title(page), heading(page), crumbs(page)) == ("Decisions", "Decisions", "Decisions")
    assert ">Decisions</a>" in page.split('<nav class="subnav"', 1)[1].split("</nav>", 1)[0]


def test_the_claim_form_sits_under_the_orphaned_list_of_the_ownership_claims(client_for, alice, bob, make_identity):
    orphan = make_identity(alice, name="ledger-bot")
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    page = client_for(bob).get(f"/identities/{orphan.pk}/claim/").content.decode()
    assert crumbs(page) == "Ownership claims / Orphaned / ledger-bot"
    assert crumb_links(page) == ["/claims/", "/claims/orphaned/"]
    assert title(page) == heading(page) == "Claim ledger-bot"


def test_removing_scopes_sits_under_grants_as_revoking_does(client_for, sam, agent, crm, grant):
    given = grant(agent, crm, ["tickets:read", "tickets:write"])
    client = client_for(sam)
    for action, last in (("reduce", "Remove scopes"), ("revoke", "Revoke")):
        page = client.get(f"/grants/{given.pk}/{action}/").content.decode()
        assert crumbs(page) == f"Grants / {last}" and crumb_links(page) == ["/grants/"], action


def test_an_exposure_is_called_by_its_number_in_title_heading_and_breadcrumb(client_for, sam, agent, get_token):
    client = client_for(sam)
    client.post("/exposures/report/", {"token": get_token(agent)["access_token"], "where_found": "Pasted into the #ai-ops chat channel while debugging."})
    exposure = Exposure.objects.get()
    page = client.get(f"/exposures/{exposure.pk}/").content.decode()
    assert title(page) == f"Exposure #{exposure.pk}"
    assert heading(page) == f"Exposure #{exposure.pk}: access token of {agent.identity.name}"
    assert crumbs(page) == f"Exposures / #{exposure.pk}"


def test_the_campaign_launch_page_is_named_once(client_for, rita):
    page = client_for(rita).get("/campaigns/new/").content.decode()
    assert title(page) == heading(page) == "Launch an attestation campaign"
    assert crumbs(page) == "Attestation campaigns / Launch"


def test_where_a_leak_was_found_is_labelled_not_put_in_a_sentence(client_for, sam, alice, agent, get_token):
    where = "Pasted into the #ai-ops chat channel while debugging."
    client_for(sam).post("/exposures/report/", {"token": get_token(agent)["access_token"], "where_found": where})
    exposure = Exposure.objects.get()
    detail = client_for(sam).get(f"/exposures/{exposure.pk}/").content.decode()
    assert f"<p>Where it was found: {where}</p>" in detail and "found in" not in detail
    panel = client_for(alice).get(f"/identities/{agent.identity.pk}/credentials-panel/").content.decode()
    assert f"Where it was found: {where}" in panel and "found in" not in panel


def test_the_credentials_page_is_named_as_its_menu_item(client_for, sam):
    page = client_for(sam).get("/credentials/").content.decode()
    assert ("Workload credentials", "/credentials/") in menu(page)
    assert title(page) == heading(page) == crumbs(page) == "Workload credentials"
