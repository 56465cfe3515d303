"""Who may not decide an access request is told why: their role, their own request, or their
ownership of the identity at the service's stage."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tokens.access_requests import access_request_create
from tokens.services import service_create

API = "/api/v1/access-requests/"


@pytest.fixture
def wiki(sam, rita):
    return service_create(actor=sam, name="Wiki", audience="https://wiki.example.com", owner=rita, trust_boundary="corp-internal", scopes=["pages:read"])


@pytest.fixture
def waiting(alice, make_identity, wiki):
    """alice asks for her identity: it waits at the service's stage."""
    return access_request_create(
        actor=alice, identity=make_identity(alice), service=wiki, scopes=["pages:read"],
        ends_at=timezone.now() + timedelta(days=10), justification="Reads runbooks.",
    )


def refusal(client, access_request):
    response = client.post(f"{API}{access_request.pk}/approve/", {}, content_type="application/json")
    assert response.status_code == 403, response.content
    return response.json()["detail"]


def test_compliance_is_told_its_role_decides_nothing(client_for, carol, waiting):
    said = refusal(client_for(carol), waiting)
    assert "your role" in said.lower() and "own request" not in said


def test_the_requester_is_told_they_decide_no_stage_of_their_own_request(client_for, alice, waiting):
    said = refusal(client_for(alice), waiting)
    assert "own request" in said


def test_an_owner_at_the_service_stage_is_told_owners_decide_the_first_stage_only(client_for, bob, alice, make_identity, wiki, sam):
    identity = make_identity(alice, backups=[bob])
    asked = access_request_create(
        actor=sam, identity=identity, service=wiki, scopes=["pages:read"],
        ends_at=timezone.now() + timedelta(days=10), justification="Reads runbooks.",
    )
    # sam asked: it waits for an owner first; charlie-like outsiders see nothing, owners decide.
    assert client_for(bob).post(f"{API}{asked.pk}/approve/", {}, content_type="application/json").status_code == 200
    said = refusal(client_for(alice), asked)
    assert "owns the identity" in said or "own the identity" in said


def test_an_outsider_learns_nothing(client_for, charlie, waiting):
    response = client_for(charlie).post(f"{API}{waiting.pk}/approve/", {}, content_type="application/json")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}
