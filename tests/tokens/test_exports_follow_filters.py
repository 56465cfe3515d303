"""Each list's Export CSV gives the rows the list shows: its link carries the list's filters and
the export honours them. Without any filter an export still gives everything one may see."""

import csv
import io
import re
from datetime import timedelta

from django.utils import timezone

from tokens.access_requests import access_request_approve, access_request_create
from tokens.credentials import credential_disable
from tokens.models import WorkloadCredential
from tokens.services import grant_revoke


def rows(client, url) -> list[dict]:
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def export_link(client, url) -> str:
    """The href of the list's Export CSV button."""
    html = client.get(url).content.decode()
    return re.search(r'<a class="btn" href="([^"]+)" download>Export CSV</a>', html).group(1).replace("&amp;", "&")


def test_the_grants_export_gives_the_state_the_list_shows(client_for, sam, carol, make_agent, crm, grant):
    live = grant(make_agent(name="live-agent"), crm, ["tickets:read"])
    ended = grant(make_agent(name="revoked-agent"), crm, ["tickets:read"])
    grant_revoke(actor=sam, grant=ended, reason="no longer needed")
    client = client_for(carol)

    link = export_link(client, "/grants/")  # the list opens on live grants
    assert link == "/grants/export.csv?state=live"
    assert [r["id"] for r in rows(client, link)] == [str(live.pk)]
    assert [r["id"] for r in rows(client, export_link(client, "/grants/?state=revoked"))] == [str(ended.pk)]
    assert len(rows(client, "/grants/export.csv")) == 2  # no filter: every grant, as before


def test_the_credentials_export_gives_the_state_and_kind_the_list_shows(client_for, alice, sam, make_agent):
    make_agent(alice, name="kept-agent")
    dropped = make_agent(alice, name="dropped-agent")
    credential_disable(actor=sam, credential=WorkloadCredential.objects.get(identity=dropped.identity), reason="rotated")
    client = client_for(alice)

    assert [r["identity"] for r in rows(client, export_link(client, "/credentials/"))] == ["kept-agent"]
    link = export_link(client, "/credentials/?state=disabled&kind=jwk")
    assert "state=disabled" in link and "kind=jwk" in link
    assert [r["identity"] for r in rows(client, link)] == ["dropped-agent"]
    assert rows(client, "/credentials/export.csv?state=all&kind=spiffe") == []
    assert {r["identity"] for r in rows(client, "/credentials/export.csv")} == {"kept-agent", "dropped-agent"}


def test_the_access_requests_export_gives_the_view_and_state_the_list_shows(client_for, alice, rita, carol, make_agent, crm):
    def ask(agent):
        return access_request_create(
            actor=alice, identity=agent.identity, service=crm, scopes=["tickets:read"],
            ends_at=timezone.now() + timedelta(days=7), justification="Drafts replies to open tickets.",
        )

    approved = access_request_approve(actor=rita, access_request=ask(make_agent(alice, name="approved-agent")), reason="Read-only.")
    pending = ask(make_agent(alice, name="pending-agent"))
    client = client_for(carol)

    link = export_link(client, "/access-requests/?state=approved")
    assert "view=all" in link and "state=approved" in link
    assert [r["id"] for r in rows(client, link)] == [str(approved.pk)]
    assert [r["id"] for r in rows(client, export_link(client, "/access-requests/?state=pending"))] == [str(pending.pk)]
    # alice asked both: her "Mine" view exports both, whatever state the link leaves out.
    assert {r["id"] for r in rows(client_for(alice), "/access-requests/export.csv?view=mine")} == {str(approved.pk), str(pending.pk)}
