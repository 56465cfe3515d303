"""An agent's access token sent to the portal's own API is refused with what to send instead,
not as if no credentials were sent."""

from django.test import Client

from tests.tokens.conftest import agent, crm, get_token, grant, make_agent, oauth  # noqa: F401  (fixtures)

LIST = "/api/v1/identities/"


def test_it_tells_an_agent_its_access_token_is_not_for_this_api(agent, get_token):
    token = get_token(agent)["access_token"]
    response = Client(headers={"Authorization": f"Bearer {token}"}).get(LIST)
    assert response.status_code == 401
    assert "nhip_" in response.json()["detail"] and "agents' access tokens are for services" in response.json()["detail"]
    assert response["WWW-Authenticate"] == "Bearer"


def test_no_credentials_at_all_still_says_so(db):
    response = Client().get(LIST)
    assert response.status_code in (401, 403)
    assert response.json() == {"detail": "Authentication credentials were not provided."}
