"""A body field the operation does not take (unknown, or read-only) is a 400 naming it, not
silently ignored: a client that sent `status` to offboard would otherwise believe it did."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.claims import claim_create
from inventory.models import ClaimState, Status
from tokens.access_requests import access_request_create
from tokens.services import service_create


def test_patching_status_is_refused_and_changes_nothing(client_for, alice, make_identity):
    identity = make_identity(alice)
    response = client_for(alice).patch(
        f"/api/v1/identities/{identity.pk}/", {"status": "offboarded", "bogus": 1, "version": identity.version},
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"status", "bogus"}
    assert "read-only" in response.json()["status"][0].lower() and "offboard/" in response.json()["status"][0]
    assert "not a field" in response.json()["bogus"][0]
    identity.refresh_from_db()
    assert identity.status == Status.REGISTERED


@pytest.mark.parametrize("url, body, name", [
    ("identities/", {"name": "x", "kind": "agent", "environment": "production", "purpose": "p", "id": "1"}, "id"),
    ("grants/", {"identity": "00000000-0000-0000-0000-000000000000", "service": 1, "scopes": ["a"], "ends_at": "2030-01-01T00:00:00Z", "justification": "j", "revoked_at": None}, "revoked_at"),
    ("services/", {"name": "Wiki", "audience": "https://wiki.example.com", "owner": "sam", "scope": ["a"]}, "scope"),
    ("access-requests/", {"identity": "00000000-0000-0000-0000-000000000000", "service": 1, "scopes": ["a"], "ends_at": "2030-01-01T00:00:00Z", "justification": "j", "state": "approved"}, "state"),
    ("webhooks/", {"url": "https://hooks.example.com/in", "secret": "mine"}, "secret"),
])
def test_a_create_names_the_fields_it_does_not_take(client_for, sam, url, body, name):
    response = client_for(sam).post(f"/api/v1/{url}", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert name in response.json(), response.content


def test_setting_roles_names_a_field_it_does_not_take(client_for, sam, bob):
    response = client_for(sam).put(f"/api/v1/people/{bob.pk}/roles/", {"roles": ["owner"], "is_superuser": True}, content_type="application/json")
    assert response.status_code == 400 and list(response.json()) == ["is_superuser"]


def test_a_reason_body_names_a_field_it_does_not_take(client_for, alice, make_identity):
    identity = make_identity(alice)
    response = client_for(alice).post(f"/api/v1/identities/{identity.pk}/suspend/", {"reason": "x", "why": "y"}, content_type="application/json")
    assert response.status_code == 400 and list(response.json()) == ["why"]


def test_options_describes_no_body_with_the_read_serializer(client_for, alice):
    response = client_for(alice).options("/api/v1/identities/")
    assert response.status_code == 200
    body = response.json()
    assert "actions" not in body and body["schema"] == "/api/schema/"


@pytest.fixture
def wiki(sam, bob):
    return service_create(actor=sam, name="Wiki", audience="https://wiki.example.com", owner=bob, trust_boundary="corp-internal", scopes=["pages:read"])


@pytest.mark.parametrize("decision, body, who", [
    ("approve", {"reason": "fine", "scopes": ["pages:write"]}, "bob"),
    ("reject", {"reason": "no", "state": "approved"}, "bob"),
    ("cancel", {"note": "changed my mind"}, "alice"),
])
def test_deciding_an_access_request_names_a_field_it_does_not_take(client_for, alice, bob, make_identity, wiki, decision, body, who):
    request = access_request_create(
        actor=alice, identity=make_identity(alice), service=wiki, scopes=["pages:read"],
        ends_at=timezone.now() + timedelta(days=10), justification="Reads runbooks.",
    )
    waits_at = request.state
    response = client_for({"alice": alice, "bob": bob}[who]).post(
        f"/api/v1/access-requests/{request.pk}/{decision}/", body, content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert list(response.json()) == [name for name in body if name != "reason"]
    request.refresh_from_db()
    assert request.state == waits_at


@pytest.mark.parametrize("decision, body, who", [
    ("approve", {"role": "backup"}, "rita"),
    ("reject", {"reason": "no", "identity": "x"}, "rita"),
    ("cancel", {"why": "mistake"}, "bob"),
])
def test_deciding_a_claim_names_a_field_it_does_not_take(client_for, alice, bob, rita, make_identity, decision, body, who):
    orphan = make_identity(alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    claim = claim_create(actor=bob, identity=orphan, reason="I run it now.")
    response = client_for({"bob": bob, "rita": rita}[who]).post(
        f"/api/v1/claims/{claim.pk}/{decision}/", body, content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert list(response.json()) == [name for name in body if name != "reason"]
    claim.refresh_from_db()
    assert claim.state == ClaimState.PENDING
