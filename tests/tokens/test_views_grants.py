from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Sensitivity
from nhiportal.audit.models import AuditEvent
from tokens.models import Grant
from tokens.services import grant_revoke, service_create


def grant_data(identity, service, scopes, **overrides):
    data = {
        "identity": str(identity.pk),
        "service": str(service.pk),
        "scopes": [f"{service.pk}:{s}" for s in scopes],
        "ends_at": (timezone.now() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        "justification": "Ticket triage",
    }
    data.update(overrides)
    return data


def test_a_security_admin_grants_scopes(client_for, sam, agent, crm):
    response = client_for(sam).post("/grants/new/", grant_data(agent.identity, crm, ["tickets:read"]))
    assert response.status_code == 302
    grant = Grant.objects.get()
    assert grant.scopes == ["tickets:read"] and grant.granted_by == sam and grant.justification == "Ticket triage"
    assert AuditEvent.objects.filter(action="grant.create", identity_id=agent.identity.pk).count() == 1


def test_it_refuses_a_past_end_date(client_for, sam, agent, crm):
    data = grant_data(agent.identity, crm, ["tickets:read"], ends_at="2001-01-01T00:00")
    response = client_for(sam).post("/grants/new/", data)
    assert response.status_code == 400 and b"future" in response.content
    assert not Grant.objects.exists()


def test_it_refuses_scopes_of_another_service(client_for, sam, agent, crm):
    wiki = service_create(actor=sam, name="Wiki", audience="https://wiki.example.com", owner=sam, scopes=["pages:read"])
    data = grant_data(agent.identity, crm, [])
    data["scopes"] = [f"{wiki.pk}:pages:read"]
    response = client_for(sam).post("/grants/new/", data)
    assert response.status_code == 400 and not Grant.objects.exists()


def test_a_security_admin_revokes_a_grant_with_a_reason(client_for, sam, agent, crm, grant):
    g = grant(agent, crm, ["tickets:read"])
    client = client_for(sam)
    assert client.get(f"/grants/{g.pk}/revoke/").status_code == 200
    assert client.post(f"/grants/{g.pk}/revoke/", {"reason": ""}).status_code == 400
    assert client.post(f"/grants/{g.pk}/revoke/", {"reason": "Project paused"}).status_code == 302
    g.refresh_from_db()
    assert g.revoked_at and g.revoked_by_label == "sam" and g.revoke_reason == "Project paused"


@pytest.mark.parametrize("person", ["alice", "charlie", "rita", "carol"])
def test_only_security_admins_create_or_revoke_grants(request, client_for, agent, crm, grant, person):
    g = grant(agent, crm, ["tickets:read"])
    client = client_for(request.getfixturevalue(person))
    assert client.get("/grants/new/").status_code == 403
    assert client.post("/grants/new/", grant_data(agent.identity, crm, ["tickets:write"])).status_code == 403
    assert client.post(f"/grants/{g.pk}/revoke/", {"reason": "x"}).status_code == 403
    assert Grant.objects.get().revoked_at is None and Grant.objects.count() == 1


def test_the_list_shows_only_grants_of_visible_identities(client_for, alice, charlie, rita, agent, crm, grant):
    grant(agent, crm, ["tickets:read"])
    assert agent.identity.name.encode() in client_for(alice).get("/grants/").content
    assert agent.identity.name.encode() in client_for(rita).get("/grants/").content
    outsider = client_for(charlie).get("/grants/")
    assert outsider.status_code == 200 and agent.identity.name.encode() not in outsider.content


def test_the_list_filters_by_state(client_for, sam, agent, crm, grant):
    g = grant(agent, crm, ["tickets:read"])
    grant_revoke(actor=sam, grant=g, reason="done")
    client = client_for(sam)
    assert agent.identity.name.encode() not in client.get("/grants/").content
    assert agent.identity.name.encode() in client.get("/grants/?state=revoked").content


def test_a_grant_the_policy_would_refuse_is_made_with_a_warning_saying_so(client_for, sam, agent, crm):
    payments = service_create(
        actor=sam, name="Payments", audience="https://payments.example.com", owner=sam, trust_boundary="corp-internal",
        sensitivity=Sensitivity.RESTRICTED, scopes=[{"name": "payouts:read", "description": "Read payouts"}],
    )
    fine = client_for(sam).post("/grants/new/", grant_data(agent.identity, crm, ["tickets:read"]), follow=True)
    assert "would still refuse" not in fine.content.decode()
    refused = client_for(sam).post("/grants/new/", grant_data(agent.identity, payments, ["payouts:read"]), follow=True)
    html = refused.content.decode()
    assert "Granted payouts:read on Payments" in html
    assert f"The active policy would still refuse {agent.identity.name} a token for it (forbid-service-above-sensitivity-ceiling)" in html


@pytest.fixture
def other_admin(db):
    from nhiportal.people.roles import SECURITY_ADMIN
    from tests.conftest import _person

    return _person("sasha", SECURITY_ADMIN)


@pytest.mark.parametrize("role", ["primary", "backup"])
def test_a_security_admin_cannot_grant_an_identity_they_own_and_is_told_who_can(
    client_for, sam, alice, other_admin, make_agent, crm, role,
):
    owned = make_agent(sam) if role == "primary" else make_agent(alice, backups=[sam])

    response = client_for(sam).post("/grants/new/", grant_data(owned.identity, crm, ["customers:export"]))

    assert response.status_code == 400 and not Grant.objects.exists()
    html = response.content.decode()
    error = html[html.index('id="id_identity_error"'):]
    error = error[:error.index("</div>")]
    assert "You own this identity" in error and "ask another security admin" in error and "/access-requests/" in error
    assert not AuditEvent.objects.filter(action="grant.create").exists()
    # A second person grants it.
    assert client_for(other_admin).post("/grants/new/", grant_data(owned.identity, crm, ["customers:export"])).status_code == 302
    assert Grant.objects.get().granted_by == other_admin


def test_a_grant_of_many_scopes_shows_six_and_keeps_the_rest_one_click_away(sam, alice, make_identity, client_for):
    from django.utils import timezone as tz

    from tokens.services import grant_create, service_create

    many = [f"records.{n:02d}:read" for n in range(10)]
    wide = service_create(
        actor=sam, name="Records", audience="https://records.example.com", owner=sam, trust_boundary="corp-internal",
        scopes=[{"name": s, "description": s} for s in many], sensitivity=1,
    )
    grant_create(actor=sam, identity=make_identity(alice, name="wide-agent"), service=wide, scopes=many,
                 ends_at=tz.now() + timedelta(days=30), justification="tests")
    page = client_for(sam).get("/grants/").content.decode()
    cell = page.split('data-label="Scopes">', 1)[1].split("</td>", 1)[0]
    shown, _, folded = cell.partition("<details")
    assert shown.count("<code>") == 6 and folded.count("<code>") == 4
    assert "<summary>4 more</summary>" in folded
