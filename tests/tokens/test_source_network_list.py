"""The source networks list (/networks/, its CSV, GET /api/v1/source-networks/): the networks
the identities a person may see got tokens from, seen through the one gate, newest first,
each marked new or outside its identity's allowed networks, and filtered the same on the
page, the CSV and the API."""

import csv
import io
import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import AIIdentity
from inventory.services import identity_update
from tokens.models import SourceNetwork
from tokens.source_networks import network_recognise

from .conftest import token_request

PAGE, CSV, API = "/networks/", "/networks/export.csv", "/api/v1/source-networks/"
ALL = ["198.51.100.0/24", "10.20.3.0/24", "203.0.113.0/24", "10.30.0.0/24"]


@pytest.fixture
def sources(sam, alice, bob, make_agent, crm, grant, oauth):
    """alice's agent: its baseline 10.20.3.0/24 three days ago, then 198.51.100.0/24 yesterday
    (new), and since bound to 10.20.0.0/16, so the new one lies outside; bob's agent, bound to
    none: its baseline 10.30.0.0/24 twenty days ago, then 203.0.113.0/24 ten days ago (no
    longer new)."""
    alices = make_agent(alice, name="alice-agent")
    bobs = make_agent(bob, name="bob-agent")
    grant(alices, crm, ["tickets:read"])
    grant(bobs, crm, ["tickets:read"])
    now = timezone.now()
    for agent, address, days in ((alices, "10.20.3.4", 3), (alices, "198.51.100.7", 1), (bobs, "10.30.0.5", 20), (bobs, "203.0.113.9", 10)):
        assert token_request(oauth, agent, address=address).status_code == 200
        SourceNetwork.objects.filter(identity=agent.identity, first_seen_at__gt=now - timedelta(minutes=5)).update(
            first_seen_at=now - timedelta(days=days),
        )
    identity = AIIdentity.objects.get(pk=alices.identity.pk)
    identity_update(actor=sam, identity=identity, expected_version=identity.version, allowed_networks=["10.20.0.0/16"])
    return {"alice": alices.identity, "bob": bobs.identity}


def shown(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [s.network for s in response.context["networks"]]


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def api_networks(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [r["network"] for r in response.json()["results"]]


def without_csrf(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def everywhere(client, page_query=None, api_query=None) -> tuple[list, list, list]:
    """The networks the page, the CSV and the API list under the same filters, in their order."""
    page_query = page_query or {}
    return (
        shown(client.get(PAGE, page_query)),
        [r["network"] for r in csv_rows(client.get(CSV, page_query))],
        api_networks(client.get(API, page_query if api_query is None else api_query)),
    )


# Who sees what


def test_it_shows_a_security_admin_every_network_newest_first(client_for, sam, sources):
    client = client_for(sam)
    assert everywhere(client) == (ALL, ALL, ALL)
    page = client.get(PAGE).content.decode()
    assert "4 networks</p>" in page and "alice-agent" in page and "bob-agent" in page
    assert f'href="/identities/{sources["alice"].pk}/#credentials"' in page


def test_it_shows_an_owner_her_identities_networks_only(client_for, alice, bob, sources):
    assert everywhere(client_for(alice)) == (ALL[:2], ALL[:2], ALL[:2])
    assert everywhere(client_for(bob)) == (ALL[2:], ALL[2:], ALL[2:])
    assert "alice-agent" not in client_for(bob).get(PAGE).content.decode()
    assert "alice-agent" not in b"".join(client_for(bob).get(CSV).streaming_content).decode()


def test_it_lets_reviewers_and_compliance_read_every_network(client_for, rita, carol, sources):
    for person in (rita, carol):
        assert everywhere(client_for(person)) == (ALL, ALL, ALL)


def test_it_shows_an_outsider_nothing_and_names_no_identity(client_for, charlie, sources):
    client = client_for(charlie)
    assert everywhere(client) == ([], [], [])
    page = client.get(PAGE)
    assert "No network yet" in page.content.decode()
    # Asked by an identity's id or name, the outsider learns nothing, not even that it exists:
    # the answers are those for an identity no one has.
    for named, unknown in ((str(sources["alice"].pk), str(uuid.uuid4())), ("alice-agent", "no-such-agent")):
        response, nobody = client.get(PAGE, {"identity": named}), client.get(PAGE, {"identity": unknown})
        assert response.status_code == nobody.status_code == 200 and shown(response) == []
        assert without_csrf(response).replace(named, unknown) == without_csrf(nobody)
        assert csv_rows(client.get(CSV, {"identity": named})) == []
    for query in ({"identity": str(sources["alice"].pk)}, {"q": "198.51"}, {"new": "true"}):
        assert api_networks(client.get(API, query)) == []


def test_it_sends_the_signed_out_to_sign_in_and_refuses_the_api(client, sources):
    for url in (PAGE, CSV):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
    assert client.get(API).status_code == 401


# What each row says


def test_it_marks_new_networks_and_those_outside_the_allowed_ones(client_for, sam, sources):
    response = client_for(sam).get(PAGE)
    marks = {s.network: (s.new, s.outside_allowed) for s in response.context["networks"]}
    assert marks == {
        "198.51.100.0/24": (True, True), "10.20.3.0/24": (False, False), "203.0.113.0/24": (False, False), "10.30.0.0/24": (False, False),
    }
    rows = re.findall(r'<tr id="network-\d+">(.*?)</tr>', response.content.decode(), re.S)
    new_row, baseline_row, old_row, _ = rows
    assert ">New</span>" in new_row and ">outside</span>" in new_row
    assert ">first seen</span>" in baseline_row and ">inside</span>" in baseline_row and ">New<" not in baseline_row
    assert "anywhere (none set)" in old_row and ">New<" not in old_row
    exported = {r["network"]: r for r in csv_rows(client_for(sam).get(CSV))}
    assert (exported["198.51.100.0/24"]["new"], exported["198.51.100.0/24"]["outside_allowed"]) == ("yes", "yes")
    assert (exported["10.20.3.0/24"]["baseline"], exported["10.20.3.0/24"]["allowed_networks"]) == ("yes", "10.20.0.0/16")
    assert exported["10.30.0.0/24"]["outside_allowed"] == "no"  # none set: anywhere


def test_it_holds_a_network_inside_only_when_the_allowed_ones_hold_it_whole(client_for, sam, sources):
    identity = AIIdentity.objects.get(pk=sources["alice"].pk)
    # Two halves of 198.51.100.0/24 hold it whole; one address of 10.20.3.0/24 does not.
    identity_update(
        actor=sam, identity=identity, expected_version=identity.version,
        allowed_networks=["198.51.100.0/25", "198.51.100.128/25", "10.20.3.4"],
    )
    assert everywhere(client_for(sam), {"outside_allowed": "true"}) == (["10.20.3.0/24"],) * 3


def test_it_defuses_a_cell_a_spreadsheet_would_run(client_for, sam, sources):
    identity = AIIdentity.objects.get(pk=sources["bob"].pk)
    AIIdentity.objects.filter(pk=identity.pk).update(name="=HYPERLINK(1)")
    assert {r["identity"] for r in csv_rows(client_for(sam).get(CSV))} == {"alice-agent", "'=HYPERLINK(1)"}


# Filters: the same rows on the page, in the CSV and through the API


@pytest.mark.parametrize("page_query, api_query, expected", [
    ({"new": "true"}, None, ["198.51.100.0/24"]),
    ({"new": "false"}, None, ALL[1:]),
    ({"new": "true"}, {"new": "1"}, ["198.51.100.0/24"]),
    ({"outside_allowed": "true"}, None, ["198.51.100.0/24"]),
    ({"outside_allowed": "false"}, None, ALL[1:]),
    ({"q": "10."}, None, ["10.20.3.0/24", "10.30.0.0/24"]),
    ({"q": "203.0.113"}, None, ["203.0.113.0/24"]),
    ({"identity": "BOB-AGENT"}, "bob id", ALL[2:]),
    ({"identity": "bob id"}, "bob id", ALL[2:]),
    ({"since": "days ago 5"}, {"since": "instant 5"}, ALL[:2]),
    ({"until": "days ago 5"}, {"until": "instant 4"}, ALL[2:]),
    ({"since": "days ago 15", "until": "days ago 5", "q": "203"}, {"since": "instant 15", "until": "instant 4", "q": "203"}, ["203.0.113.0/24"]),
])
def test_each_filter_narrows_the_page_the_csv_and_the_api_alike(client_for, sam, alice, sources, page_query, api_query, expected):
    today = timezone.localdate()

    def value(v):
        if v == "bob id":
            return str(sources["bob"].pk)
        if v.startswith("days ago "):
            return (today - timedelta(days=int(v.removeprefix("days ago ")))).isoformat()
        if v.startswith("instant "):
            # The start of that day in UTC, the portal's zone: the page's day filters read so.
            return f"{(today - timedelta(days=int(v.removeprefix('instant ')))).isoformat()}T00:00:00Z"
        return v

    page_query = {k: value(v) for k, v in page_query.items()}
    api_query = {"identity": value(api_query)} if api_query == "bob id" else {k: value(v) for k, v in (api_query or page_query).items()}
    assert everywhere(client_for(sam), page_query, api_query) == (expected, expected, expected)
    # A filter only narrows what a person may see already.
    mine = [n for n in expected if n in ALL[:2]]
    assert everywhere(client_for(alice), page_query, api_query) == (mine, mine, mine)


def test_a_recognised_network_is_not_news(client_for, alice, sam, sources):
    identity = AIIdentity.objects.get(pk=sources["alice"].pk)
    network_recognise(actor=alice, identity=identity, address="10.20.9.1")
    assert everywhere(client_for(sam), {"new": "true"}) == (["198.51.100.0/24"],) * 3
    page = client_for(sam).get(PAGE, {"identity": "alice-agent"}).content.decode()
    assert ">recognised</span>" in page


def test_it_keeps_the_filters_and_the_page_in_the_export_link_and_pagination(client_for, sam, sources, settings):
    settings.NHI = {**settings.NHI, "PAGE_SIZE": 1}
    response = client_for(sam).get(PAGE, {"q": "10."})
    page = response.content.decode()
    assert shown(response) == ["10.20.3.0/24"] and "Page 1 of 2" in page
    assert 'href="/networks/export.csv?q=10."' in page and 'href="?q=10.&amp;page=2"' in page
    assert shown(client_for(sam).get(PAGE, {"q": "10.", "page": 2})) == ["10.30.0.0/24"]


@pytest.mark.parametrize("field, bad", [
    ("new", "maybe"), ("outside_allowed", "sometimes"), ("since", "last tuesday"), ("until", "2026-02-30"), ("q", "1" * 65),
])
def test_a_bad_filter_is_a_400_next_to_its_field_never_a_500(client_for, sam, sources, field, bad):
    client = client_for(sam)
    page = client.get(PAGE, {field: bad})
    assert page.status_code == 400
    assert field in page.context["filters"].filter.errors
    assert f'id="id_{field}_error"' in page.content.decode() and "Some filters are not valid" in page.content.decode()
    exported = client.get(CSV, {field: bad})
    assert exported.status_code == 400 and exported.content.decode().startswith(f"Some filters are not valid: {field}:")
    api = client.get(API, {field: bad})
    assert api.status_code == 400 and list(api.json()) == [field], api.content


def test_the_api_still_refuses_what_it_refused_and_a_date_alone(client_for, sam, sources):
    client = client_for(sam)
    for query, field in (({"identity": "not-a-uuid"}, "identity"), ({"identity": ""}, "identity"), ({"new": ""}, "new"),
                         ({"since": "2026-11-30"}, "since"), ({"outside_allowed": ""}, "outside_allowed")):
        response = client.get(API, query)
        assert response.status_code == 400 and list(response.json()) == [field], (query, response.content)


# Where it is reached from


def test_the_identity_page_and_the_dashboard_card_link_to_the_list(client_for, alice, sources):
    client = client_for(alice)
    identity = sources["alice"]
    panel = client.get(f"/identities/{identity.pk}/credentials-panel/").content.decode()
    link = f"/networks/?identity={identity.pk}"
    assert f'href="{link}"' in panel
    linked = client.get(link)
    assert shown(linked) == ALL[:2] and 'value="alice-agent"' in linked.content.decode()  # the box shows its name
    card = client.get("/identities/new-network-card/").content.decode()
    assert 'href="/networks/?new=true"' in card
