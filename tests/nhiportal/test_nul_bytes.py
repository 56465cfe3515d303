"""A NUL character (U+0000) is refused at the door, in the caller's own terms, on both databases
(PostgreSQL refuses it in text and jsonb, so one that reached a query was a 500 there), and
nothing is written."""

import json

import pytest
from django.test import Client

from inventory.models import AIIdentity
from nhiportal.people.models import TokenPurpose
from nhiportal.people.services import api_token_create
from tests.tokens.conftest import TASK, grant, token_request  # noqa: F401 (grant: a fixture)
from tokens.models import IssuedToken, Task

pytestmark = pytest.mark.django_db

REASON = "NUL character"


def test_the_token_endpoint_answers_an_rfc_6749_error(agent, crm, grant):
    grant(agent, crm, ["tickets:read"])
    for params in ({"scope": "tickets:read ti\x00ckets"}, {"resource": "https://crm\x00.example.com"}):
        response = token_request(Client(), agent, **params)
        assert response.status_code == 400 and response.json()["error"] == "invalid_request" and REASON in response.json()["error_description"]
        assert response["Cache-Control"] == "no-store"
    # Inside authorization_details' JSON, escaped, it is that parameter's error.
    escaped = token_request(Client(), agent, authorization_details=json.dumps([{**TASK[0], "intent": "Summarise\x00 tickets"}]))
    assert escaped.status_code == 400 and escaped.json()["error"] == "invalid_authorization_details"
    # And in a signed assertion's header, where no request-level check can see it, an invalid client.
    hidden = token_request(Client(), agent, assertion=agent.assertion(headers={"kid": "k\x001"}))
    assert hidden.status_code == 401 and hidden.json()["error"] == "invalid_client"
    assert not IssuedToken.objects.exists() and not Task.objects.exists()


def test_the_api_answers_with_its_detail(client_for, sam):
    body = {"name": "n1", "kind": "agent", "environment": "production", "purpose": "p", "primary_owner": "ali\x00ce"}
    response = client_for(sam).post("/api/v1/identities/", json.dumps(body), content_type="application/json")
    assert response.status_code == 400 and REASON in response.json()["detail"]
    assert client_for(sam).get("/api/v1/identities/?q=al%00ice").status_code == 400
    assert not AIIdentity.objects.filter(name="n1").exists()


def test_scim_answers_with_a_scim_error(sam):
    _, raw = api_token_create(user=sam, name="okta", days=30, purpose=TokenPurpose.DIRECTORY_SYNC)
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Agents\x00"}
    response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").post("/scim/v2/Groups", json.dumps(body), content_type="application/scim+json")
    assert response.status_code == 400 and response["Content-Type"] == "application/scim+json"
    assert json.loads(response.content)["scimType"] == "invalidValue"


def test_a_page_answers_with_a_400_page(client_for, sam, alice):
    client = client_for(sam)
    for response in (client.get("/people/?q=al%00ice"), client.get("/users/?q=al%00ice"), client.post("/identities/new/", {"name": "n\x00"})):
        assert response.status_code == 400 and b"Bad request" in response.content and REASON.encode() in response.content
        # Answered before the headers' middleware, it still carries what every page does.
        assert "script-src 'self'" in response.headers["Content-Security-Policy"] and response.headers["X-Frame-Options"] == "DENY"
    assert not AIIdentity.objects.filter(name__startswith="n").exists()


@pytest.mark.parametrize("path", ["/api/v1/claims/", "/api/v1/identities/import/"])
def test_an_api_body_django_cannot_read_gets_the_apis_own_400(client_for, sam, path):
    # A multipart body without its boundary: Django's own answer was an HTML page, before any auth.
    for client in (client_for(sam), Client()):
        response = client.generic("POST", path, b"--x\r\n", content_type="multipart/form-data")
        assert response.status_code == 400 and "cannot be read" in response.json()["detail"]


def test_a_scim_body_django_cannot_read_gets_a_scim_error(sam):
    _, raw = api_token_create(user=sam, name="okta", days=30, purpose=TokenPurpose.DIRECTORY_SYNC)
    response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").generic("POST", "/scim/v2/Users", b"--x", content_type="multipart/form-data")
    assert response.status_code == 400 and response["Content-Type"] == "application/scim+json"
    assert "cannot be read" in json.loads(response.content)["detail"]
