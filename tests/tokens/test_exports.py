"""CSV of access requests and grants: who asked, who decided, what exists; what the person may see."""

import csv
import io
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from tokens.access_requests import access_request_approve, access_request_create

from .conftest import token_request


def rows(client, url) -> list[dict]:
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def asked_and_approved(alice, rita, agent, crm, justification="Drafts replies to open tickets."):
    request = access_request_create(
        actor=alice, identity=agent.identity, service=crm, scopes=["tickets:read"],
        ends_at=timezone.now() + timedelta(days=7), justification=justification,
    )
    return access_request_approve(actor=rita, access_request=request, reason="Read-only, a week.")


def test_compliance_exports_who_asked_and_who_decided_each_access_request(client_for, alice, rita, carol, agent, crm):
    asked_and_approved(alice, rita, agent, crm)
    [row] = rows(client_for(carol), "/access-requests/export.csv")
    assert (row["identity"], row["service"], row["scopes"], row["state"]) == (agent.identity.name, "CRM", "tickets:read", "approved")
    assert (row["requested_by"], row["owner_vouched_by"], row["decided_by"], row["decision_reason"]) == ("alice", "alice", "rita", "Read-only, a week.")
    assert row["grant_id"]


def test_compliance_exports_the_grants_with_their_state_and_who_granted(client_for, alice, rita, carol, agent, crm):
    approved = asked_and_approved(alice, rita, agent, crm)
    [row] = rows(client_for(carol), "/grants/export.csv")
    assert (row["id"], row["identity"], row["scopes"], row["state"], row["granted_by"]) == (
        str(approved.grant_id), agent.identity.name, "tickets:read", "live", "rita",
    )
    assert (row["usage_checked_at"], row["last_used_at"], row["unused_scopes"]) == ("", "", "")  # not read yet


def test_the_grants_export_carries_what_the_usage_check_found(client_for, carol, agent, crm, grant, oauth):
    grant(agent, crm, ["tickets:read", "tickets:write"], starts_at=timezone.now() - timedelta(days=40))
    assert token_request(oauth, agent, scope="tickets:read").status_code == 200
    call_command("grant_usage", stdout=io.StringIO())
    [row] = rows(client_for(carol), "/grants/export.csv")
    assert row["unused_scopes"] == "tickets:write" and row["last_used_at"] and row["usage_checked_at"]


def test_an_outsider_exports_only_the_header(client_for, alice, rita, charlie, agent, crm):
    asked_and_approved(alice, rita, agent, crm)
    assert rows(client_for(charlie), "/access-requests/export.csv") == []
    assert rows(client_for(charlie), "/grants/export.csv") == []


def test_a_formula_typed_into_a_justification_is_defused(client_for, alice, rita, carol, agent, crm):
    asked_and_approved(alice, rita, agent, crm, justification="=HYPERLINK(\"http://evil\")")
    [row] = rows(client_for(carol), "/access-requests/export.csv")
    assert row["justification"].startswith("'=")


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    assert client.get("/grants/export.csv")["Location"].startswith("/accounts/login/")
    assert client.get("/access-requests/export.csv")["Location"].startswith("/accounts/login/")
