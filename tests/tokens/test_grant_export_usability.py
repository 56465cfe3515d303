"""The grants export says whether each grant can yield a token now, and if not why: the same
rule the grants list's badges show (its state, its service inactive, its identity not active,
scopes the service no longer offers)."""

import csv
import io
from datetime import timedelta

from django.utils import timezone

from inventory.services import identity_suspend
from tokens.models import Grant
from tokens.services import grant_revoke, service_update


def exported(client, url="/grants/export.csv?state=all") -> dict:
    response = client.get(url)
    assert response.status_code == 200
    return {r["identity"]: r for r in csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))}


def test_it_says_a_live_grant_of_an_active_identity_is_usable(client_for, carol, agent, crm, grant):
    grant(agent, crm, ["tickets:read"])
    row = exported(client_for(carol))[agent.identity.name]
    assert row["usable_now"] == "yes" and row["not_usable_because"] == "" and row["state"] == "live"


def test_it_says_why_a_grant_is_not_usable(client_for, sam, carol, make_agent, crm, grant):
    expired = grant(make_agent(name="expired-agent"), crm, ["tickets:read"])
    Grant.objects.filter(pk=expired.pk).update(starts_at=timezone.now() - timedelta(days=9), ends_at=timezone.now() - timedelta(days=1))
    revoked = grant(make_agent(name="revoked-agent"), crm, ["tickets:read"])
    grant_revoke(actor=sam, grant=revoked, reason="done")
    suspended = make_agent(name="suspended-agent")
    grant(suspended, crm, ["tickets:read"])
    identity_suspend(actor=sam, identity=suspended.identity, reason="investigating")
    found = exported(client_for(carol))
    assert (found["expired-agent"]["usable_now"], found["expired-agent"]["not_usable_because"]) == ("no", "expired")
    assert (found["revoked-agent"]["usable_now"], found["revoked-agent"]["not_usable_because"]) == ("no", "revoked")
    assert (found["suspended-agent"]["usable_now"], found["suspended-agent"]["not_usable_because"]) == ("no", "identity suspended")
    # The grants page shows the suspended identity's grant as not usable too.
    page = client_for(carol).get("/grants/").content.decode()
    assert "not usable: identity suspended" in page


def test_it_says_an_inactive_service_stops_a_grant_as_the_page_does(client_for, sam, carol, agent, crm, grant):
    grant(agent, crm, ["tickets:read"])
    service_update(actor=sam, service=crm, is_active=False, reason="moving datacentre")
    row = exported(client_for(carol))[agent.identity.name]
    assert (row["usable_now"], row["not_usable_because"]) == ("no", "service inactive")
    assert "not usable: service inactive" in client_for(carol).get("/grants/").content.decode()


def test_it_names_scopes_no_longer_offered(client_for, carol, make_agent, crm, grant):
    # Older data: removing a scope today takes it off every grant (tokens/services.py).
    partly = grant(make_agent(name="partly-agent"), crm, ["tickets:read"])
    Grant.objects.filter(pk=partly.pk).update(scopes=["tickets:read", "tickets:delete"])
    gone = grant(make_agent(name="gone-agent"), crm, ["tickets:read"])
    Grant.objects.filter(pk=gone.pk).update(scopes=["tickets:delete"])
    found = exported(client_for(carol))
    assert (found["partly-agent"]["usable_now"], found["partly-agent"]["not_usable_because"]) == ("yes", "no longer offered: tickets:delete")
    assert (found["gone-agent"]["usable_now"], found["gone-agent"]["not_usable_because"]) == ("no", "no longer offered: tickets:delete")


def test_an_outsider_exports_no_grant(client_for, charlie, agent, crm, grant):
    grant(agent, crm, ["tickets:read"])
    assert exported(client_for(charlie)) == {}
