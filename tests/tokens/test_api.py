"""The token service's API: same gate as the pages, explicit outputs, 4xx with reasons."""

from datetime import timedelta

import pytest
from django.utils import timezone
from jwt.algorithms import ECAlgorithm

from nhiportal.audit.models import AuditEvent
from tokens.models import Grant, IssuedToken, Service, Task, WorkloadCredential

from .conftest import CRM, new_private_key, public_jwk


def api(client_for, user):
    client = client_for(user)

    def call(method, url, data=None):
        return getattr(client, method)(f"/api/v1/{url}", data, content_type="application/json")

    return call


def test_everyone_reads_services(client_for, charlie, crm):
    body = api(client_for, charlie)("get", "services/").json()
    assert body["results"][0]["audience"] == CRM
    assert {s["name"] for s in body["results"][0]["scopes"]} == {"tickets:read", "tickets:write", "customers:export"}


def test_a_security_admin_creates_and_changes_a_service(client_for, sam):
    call = api(client_for, sam)
    created = call("post", "services/", {"name": "Wiki", "audience": "https://wiki.example.com", "owner": "sam", "scopes": [{"name": "pages:read"}]})
    assert created.status_code == 201, created.content
    service_id = created.json()["id"]
    changed = call("patch", f"services/{service_id}/", {"scopes": [{"name": "pages:read"}, {"name": "pages:write", "consequential": True}]})
    assert changed.status_code == 200
    assert [s["name"] for s in changed.json()["scopes"]] == ["pages:read", "pages:write"]
    assert call("post", "services/", {"name": "Wiki2", "audience": "not a uri", "owner": "sam"}).status_code == 400


@pytest.mark.parametrize("change", [{"is_active": False}, {"scopes": [{"name": "tickets:read"}]}], ids=["deactivate", "remove scopes"])
def test_deactivating_a_service_or_removing_scopes_needs_a_reason_which_the_event_keeps(client_for, sam, crm, agent, grant, change):
    granted = grant(agent, crm, ["tickets:read", "tickets:write"])
    call = api(client_for, sam)

    refused = call("patch", f"services/{crm.pk}/", change)

    assert refused.status_code == 400 and "reason" in refused.json()
    assert Service.objects.get().is_active and Service.objects.get().scopes.count() == 3

    changed = call("patch", f"services/{crm.pk}/", {**change, "reason": "Retired with the old helpdesk."})

    assert changed.status_code == 200, changed.content
    assert "reason" not in changed.json()
    assert AuditEvent.objects.filter(action="service.update").latest("id").reason == "Retired with the old helpdesk."
    assert call("get", f"grants/{granted.pk}/").json()["service_active"] is ("scopes" in change)
    granted.refresh_from_db()
    assert granted.scopes == (["tickets:read", "tickets:write"] if "is_active" in change else ["tickets:read"])
    assert call("patch", f"services/{crm.pk}/", {"description": "Still here."}).status_code == 200


@pytest.mark.parametrize("person", ["alice", "charlie", "rita", "carol"])
def test_only_security_admins_write_services_grants_domains_and_keys(request, client_for, crm, agent, person):
    call = api(client_for, request.getfixturevalue(person))
    assert call("post", "services/", {"name": "X", "audience": "https://x.example.com", "owner": "sam"}).status_code == 403
    assert call("patch", f"services/{crm.pk}/", {"is_active": False}).status_code == 403
    grant = {"identity": str(agent.identity.pk), "service": crm.pk, "scopes": ["tickets:read"], "ends_at": (timezone.now() + timedelta(days=1)).isoformat(), "justification": "x"}
    assert call("post", "grants/", grant).status_code in (403, 404)
    assert call("get", "trust-domains/").status_code == 403
    assert call("get", "signing-keys/").status_code == 403
    assert call("post", "signing-keys/rotate/", {}).status_code == 403
    assert Service.objects.get().is_active and not Grant.objects.exists()


def test_a_security_admin_grants_and_revokes(client_for, sam, agent, crm):
    call = api(client_for, sam)
    ends = (timezone.now() + timedelta(days=1)).isoformat()
    created = call("post", "grants/", {"identity": str(agent.identity.pk), "service": crm.pk, "scopes": ["tickets:read"], "ends_at": ends, "justification": "triage"})
    assert created.status_code == 201, created.content
    assert created.json()["service_audience"] == CRM
    beyond = call("post", "grants/", {"identity": str(agent.identity.pk), "service": crm.pk, "scopes": ["nope"], "ends_at": ends, "justification": "x"})
    assert beyond.status_code == 400 and "scopes" in beyond.json()
    assert call("post", f"grants/{created.json()['id']}/revoke/", {}).status_code == 400
    revoked = call("post", f"grants/{created.json()['id']}/revoke/", {"reason": "done"})
    assert revoked.status_code == 200 and revoked.json()["revoked_by"] == "sam"


@pytest.mark.parametrize("role", ["primary", "backup"])
def test_a_security_admin_granting_an_identity_they_own_gets_403_saying_who_can(client_for, sam, alice, make_agent, crm, role):
    owned = make_agent(sam) if role == "primary" else make_agent(alice, backups=[sam])
    ends = (timezone.now() + timedelta(days=1)).isoformat()

    refused = api(client_for, sam)("post", "grants/", {
        "identity": str(owned.identity.pk), "service": crm.pk, "scopes": ["customers:export"], "ends_at": ends, "justification": "mine",
    })

    assert refused.status_code == 403
    detail = refused.json()["detail"]
    assert "You own this identity" in detail and "ask another security admin" in detail and "/access-requests/" in detail
    assert not Grant.objects.exists()


def test_grants_of_invisible_identities_are_hidden(client_for, charlie, alice, agent, crm, grant):
    g = grant(agent, crm, ["tickets:read"])
    assert api(client_for, charlie)("get", "grants/").json()["results"] == []
    assert api(client_for, charlie)("get", f"grants/{g.pk}/").status_code == 404
    assert api(client_for, alice)("get", "grants/").json()["results"][0]["id"] == g.pk


def test_an_owner_adds_and_disables_credentials(client_for, alice, make_identity):
    identity = make_identity(alice, credential=False)
    call = api(client_for, alice)
    created = call("post", "credentials/", {"identity": str(identity.pk), "jwk": public_jwk(new_private_key(), kid="k-api")})
    assert created.status_code == 201 and created.json()["kid"] == "k-api"
    private = call("post", "credentials/", {"identity": str(identity.pk), "jwk": ECAlgorithm.to_jwk(new_private_key(), as_dict=True)})
    assert private.status_code == 400 and "private key" in private.json()["jwk"][0]
    disabled = call("post", f"credentials/{created.json()['id']}/disable/", {"reason": "rotated"})
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert WorkloadCredential.objects.count() == 1


def test_an_outsider_cannot_touch_credentials_or_tasks(client_for, charlie, agent, get_token):
    held = get_token(agent)
    call = api(client_for, charlie)
    credential = WorkloadCredential.objects.get()
    assert call("post", "credentials/", {"identity": str(agent.identity.pk), "jwk": public_jwk(new_private_key())}).status_code == 404
    assert call("get", "credentials/").json()["results"] == []
    assert call("post", f"credentials/{credential.pk}/disable/", {}).status_code == 404
    assert call("get", "tasks/").json()["results"] == []
    assert call("post", f"tasks/{held['task_id']}/end/", {}).status_code == 404
    assert Task.objects.get().ended_at is None and WorkloadCredential.objects.get().enabled


def test_a_reviewer_reads_tasks_but_cannot_end_them(client_for, rita, agent, get_token):
    held = get_token(agent)
    call = api(client_for, rita)
    tasks = call("get", f"tasks/?identity={agent.identity.pk}").json()["results"]
    assert tasks[0]["id"] == held["task_id"] and tasks[0]["tokens"][0]["audience"] == CRM
    assert held["access_token"] not in str(tasks)
    assert call("post", f"tasks/{held['task_id']}/end/", {}).status_code == 403


def test_an_owner_ends_a_task_through_the_api(client_for, alice, agent, get_token):
    held = get_token(agent)
    ended = api(client_for, alice)("post", f"tasks/{held['task_id']}/end/", {"reason": "done"})
    assert ended.status_code == 200 and ended.json()["ended_by"] == "alice"
    assert IssuedToken.objects.get().revoked_at is not None


def test_a_security_admin_manages_trust_domains_and_keys(client_for, sam):
    call = api(client_for, sam)
    bundle = {"keys": [public_jwk(new_private_key(), kid="td1")]}
    created = call("post", "trust-domains/", {"name": "prod.example.com", "jwks": bundle})
    assert created.status_code == 201
    assert call("patch", f"trust-domains/{created.json()['id']}/", {"jwks": {"keys": []}}).status_code == 400
    rotated = call("post", "signing-keys/rotate/", {"alg": "ES256"})
    assert rotated.status_code == 200 and rotated.json()["state"] == "active"
    keys = call("get", "signing-keys/").json()["results"]
    assert {k["state"] for k in keys} == {"active", "next"}
    assert all("private" not in str(k).lower() for k in keys)


@pytest.mark.parametrize("jwk", [["not", "an", "object"], True, 42, 1.5])
def test_a_jwk_that_is_no_json_object_is_a_400_on_its_field(client_for, alice, sam, make_identity, jwk):
    identity = make_identity(alice, credential=False)
    credential = client_for(alice).post("/api/v1/credentials/", {"identity": str(identity.pk), "jwk": jwk}, content_type="application/json")
    assert credential.status_code == 400 and "JSON object" in str(credential.json()["jwk"])
    service = client_for(sam).post("/api/v1/services/", {
        "name": "Wiki", "audience": "https://wiki.example.com", "owner": "sam", "introspection_jwk": jwk,
    }, content_type="application/json")
    assert service.status_code == 400 and "introspection_jwk" in service.json()
    assert not WorkloadCredential.objects.filter(identity=identity).exists() and not Service.objects.filter(name="Wiki").exists()
