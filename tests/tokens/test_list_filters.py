"""The token lists filter by identity and by service, as the identity list filters: in the
query string, kept across pages and tabs, with a Clear filters link and an empty state that
says the filter matched nothing. A filter narrows what one may see and never teaches a name:
an identity one may not see matches nothing, by id or by name, as an unknown one does."""

import csv
import io
import re
from datetime import timedelta

from django.utils import timezone

from tokens.access_requests import access_request_create
from tokens.models import Exposure, Task
from tokens.services import service_create

from .conftest import token_request


def rows(client, url) -> list[dict]:
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def export_link(html: str) -> str:
    return re.search(r'<a class="btn" href="([^"]+)" download>Export CSV</a>', html).group(1).replace("&amp;", "&")


def another_service(sam, name="Billing", owner=None):
    return service_create(
        actor=sam, name=name, audience=f"https://{name.lower()}.example.com", owner=owner or sam, trust_boundary="corp-internal",
        scopes=[{"name": "invoices:read", "description": "Read invoices"}],
    )


def test_it_filters_grants_by_identity_linked_by_id_or_typed_by_name(client_for, alice, make_agent, crm, grant):
    one, two = make_agent(alice, name="ticket-bot"), make_agent(alice, name="mail-bot")
    grant(one, crm, ["tickets:read"])
    grant(two, crm, ["tickets:read"])
    client = client_for(alice)
    by_id = client.get("/grants/", {"identity": str(one.identity.pk)})
    assert by_id.status_code == 200 and [g.identity for g in by_id.context["grants"]] == [one.identity]
    # Linked by its id, the box shows its name; and typed in any case, the name filters the same.
    assert 'value="ticket-bot"' in by_id.content.decode()
    assert [g.identity for g in client.get("/grants/", {"identity": "TICKET-BOT"}).context["grants"]] == [one.identity]
    assert len(client.get("/grants/").context["grants"]) == 2


def test_it_filters_grants_by_service_and_keeps_the_tab(client_for, sam, alice, make_agent, crm, grant):
    billing = another_service(sam)
    agent = make_agent(alice, name="ticket-bot")
    on_crm = grant(agent, crm, ["tickets:read"])
    grant(agent, billing, ["invoices:read"])
    html = client_for(alice).get("/grants/", {"state": "all", "service": crm.pk})
    assert [g.pk for g in html.context["grants"]] == [on_crm.pk]
    page = html.content.decode()
    # The tabs keep the filter, the form keeps the tab, Clear filters keeps the tab only.
    assert f'href="?state=live&amp;service={crm.pk}"' in page
    assert '<input type="hidden" name="state" value="all">' in page
    assert '<a href="/grants/?state=all">Clear filters</a>' in page


def test_a_filter_is_kept_across_pages(client_for, alice, sam, make_agent, crm, grant):
    agents = [make_agent(alice, name=f"bot-{n:02d}") for n in range(2)]
    for _ in range(26):
        grant(agents[0], crm, ["tickets:read"])
    grant(agents[1], crm, ["tickets:read"])
    first = client_for(sam).get("/grants/", {"identity": "bot-00"})
    assert first.context["page_obj"].paginator.count == 26
    link = re.search(r'<a href="([^"]+)" rel="next">', first.content.decode()).group(1).replace("&amp;", "&")
    assert link == "?identity=bot-00&page=2"
    second = client_for(sam).get("/grants/" + link)
    assert [g.identity.name for g in second.context["grants"]] == ["bot-00"]


def test_a_filter_that_matches_nothing_says_so_and_offers_to_clear(client_for, alice, agent, crm, grant):
    grant(agent, crm, ["tickets:read"])
    response = client_for(alice).get("/grants/", {"identity": "no-such-agent"})
    page = response.content.decode()
    assert response.status_code == 200 and "No grants match these filters" in page
    assert 'href="/grants/">Clear filters</a>' in page


def test_an_outsider_learns_nothing_by_filtering_on_an_identity_they_may_not_see(client_for, bob, charlie, agent, crm, grant):
    grant(agent, crm, ["tickets:read"])
    for person in (bob, charlie):
        client = client_for(person)
        for value in (str(agent.identity.pk), agent.identity.name):
            for url in ("/grants/", "/credentials/", "/approvals/", "/exposures/", "/access-requests/"):
                response = client.get(url, {"identity": value, "state": "all"})
                assert response.status_code == 200, url
                page = response.content.decode()
                # The same answer as for a name no identity has: nothing, and no name shown.
                assert "match" in page and (value == agent.identity.name or agent.identity.name not in page), url
            assert rows(client, f"/grants/export.csv?identity={value}") == []


def test_an_unknown_service_is_a_field_error_not_a_500(client_for, alice, agent, crm, grant):
    grant(agent, crm, ["tickets:read"])
    client = client_for(alice)
    for url in ("/grants/", "/access-requests/", "/approvals/"):
        response = client.get(url, {"service": "nope"})
        assert response.status_code == 400 and "Select a valid choice" in response.content.decode(), url
    export = client.get("/grants/export.csv", {"service": "99999"})
    assert export.status_code == 400 and b"service" in export.content


def test_the_exports_honour_the_filters_their_links_carry(client_for, sam, alice, make_agent, crm, grant):
    billing = another_service(sam)
    one, two = make_agent(alice, name="ticket-bot"), make_agent(alice, name="mail-bot")
    grant(one, crm, ["tickets:read"])
    grant(two, billing, ["invoices:read"])
    client = client_for(alice)
    link = export_link(client.get("/grants/", {"identity": "ticket-bot"}).content.decode())
    assert link == "/grants/export.csv?identity=ticket-bot&state=live"
    assert [r["identity"] for r in rows(client, link)] == ["ticket-bot"]
    assert [r["service"] for r in rows(client, f"/grants/export.csv?service={billing.pk}")] == ["Billing"]
    link = export_link(client.get("/credentials/", {"identity": str(two.identity.pk)}).content.decode())
    assert [r["identity"] for r in rows(client, link)] == ["mail-bot"]


def test_access_requests_filter_by_service_and_by_the_identities_of_requests_one_sees(client_for, sam, alice, bob, make_agent, crm):
    billing = another_service(sam, owner=bob)
    agent = make_agent(alice, name="ticket-bot")
    ends = timezone.now() + timedelta(days=7)
    on_billing = access_request_create(actor=alice, identity=agent.identity, service=billing, scopes=["invoices:read"], ends_at=ends, justification="Reads invoices.")
    access_request_create(actor=alice, identity=agent.identity, service=crm, scopes=["tickets:read"], ends_at=ends, justification="Reads tickets.")
    assert [r.pk for r in client_for(alice).get("/access-requests/", {"view": "all", "service": billing.pk}).context["access_requests"]] == [on_billing.pk]
    # bob owns Billing, not the agent: he sees the request on his service, and may find it by the agent's name.
    listed = client_for(bob).get("/access-requests/", {"view": "all", "identity": "ticket-bot"}).context["access_requests"]
    assert [r.pk for r in listed] == [on_billing.pk]
    link = export_link(client_for(bob).get("/access-requests/", {"view": "all", "identity": "ticket-bot"}).content.decode())
    assert [r["id"] for r in rows(client_for(bob), link)] == [str(on_billing.pk)]


def test_approvals_and_exposures_filter_by_identity(client_for, alice, rita, make_agent, crm, grant, oauth, get_token):
    exporter = make_agent(alice, autonomy="autonomous", name="exporter")
    other = make_agent(alice, autonomy="autonomous", name="other")
    for agent in (exporter, other):
        grant(agent, crm, ["customers:export"])
        assert token_request(oauth, agent, scope="customers:export").json()["error"] == "authorization_pending"
    listed = client_for(rita).get("/approvals/", {"identity": "exporter"}).context["tasks"]
    assert [t.identity.name for t in listed] == ["exporter"] and Task.objects.count() == 2
    assert [t.identity.name for t in client_for(rita).get("/approvals/", {"service": crm.pk}).context["tasks"]] == ["exporter", "other"]

    leaked = make_agent(alice, name="leaky")
    client_for(alice).post("/exposures/report/", {"token": get_token(leaked)["access_token"], "where_found": "a build log"})
    assert Exposure.objects.count() == 1
    assert [e.identity.name for e in client_for(alice).get("/exposures/", {"identity": "leaky"}).context["exposures"]] == ["leaky"]
    assert list(client_for(alice).get("/exposures/", {"identity": "exporter"}).context["exposures"]) == []


def test_the_identity_and_service_pages_link_to_their_filtered_lists(client_for, alice, agent, crm, grant):
    grant(agent, crm, ["tickets:read"])
    client = client_for(alice)
    identity_page = client.get(f"/identities/{agent.identity.pk}/").content.decode()
    assert f'href="/grants/?state=all&amp;identity={agent.identity.pk}"' in identity_page
    assert f'href="/identities/{agent.identity.pk}/tasks/"' in identity_page
    service_page = client.get(f"/services/{crm.pk}/").content.decode()
    assert f'href="/grants/?state=all&amp;service={crm.pk}"' in service_page
    assert [g.identity for g in client.get(f"/grants/?state=all&service={crm.pk}").context["grants"]] == [agent.identity]

