"""examples/agent_client.py against a live portal: a DPoP-bound task token, used, then given back."""

import pytest
import requests
from requests.adapters import BaseAdapter

from examples.agent_client import PortalAgent, PortalError
from tests.tokens.conftest import CRM, agent, crm, grant, make_agent  # noqa: F401  (fixtures)
from tests.tokens.test_standard_clients import portal  # noqa: F401  (fixture)
from tokens.models import IssuedToken
from tokens.public_keys import jwk_thumbprint
from tokens.verifier import DPoPRequest, TokenVerifier

pytestmark = pytest.mark.django_db(transaction=True)

API_URL = "https://crm.example.com/api/tickets?state=open"


class ResourceServer(BaseAdapter):
    """Stands in for the CRM on the network: keeps each request it receives, answers 200."""

    def __init__(self):
        super().__init__()
        self.received = []

    def send(self, request, **kwargs):
        self.received.append(request)
        response = requests.Response()
        response.status_code, response.request, response._content = 200, request, b"{}"
        return response

    def close(self):
        pass


@pytest.fixture
def client(portal, live_server, agent, crm, grant):
    _metadata, http = portal
    grant(agent, crm, ["tickets:read"])
    crm_server = ResourceServer()
    http.mount("https://crm.example.com/", crm_server)
    client = PortalAgent(live_server.url, agent.client_id, agent.private_key, kid=agent.kid, session=http)
    client.crm = crm_server
    return client


def test_the_example_agent_gets_a_bound_token_uses_it_and_ends_its_task(client, live_server, portal):
    _metadata, http = portal
    task = client.token(CRM, "tickets:read", intent="Summarise open tickets")
    assert task["token_type"] == "DPoP" and task["scope"] == "tickets:read"
    assert IssuedToken.objects.get().cnf_jkt == jwk_thumbprint(client.dpop_jwk)

    assert client.call("GET", API_URL, task).status_code == 200
    sent = client.crm.received[-1]
    verifier = TokenVerifier(issuer=live_server.url, audience=CRM, http_get=lambda url: http.get(url).content)
    token = sent.headers["Authorization"].removeprefix("DPoP ")
    claims = verifier.verify(token, scopes=["tickets:read"], dpop=DPoPRequest(sent.headers["DPoP"], "GET", API_URL))
    assert claims["task_id"] == task["task_id"]

    ended = client.end_task(task)
    assert ended["tokens_revoked"] == 1 and IssuedToken.objects.get().revoked_at is not None


def test_the_example_agent_raises_the_portals_error(client):
    with pytest.raises(PortalError) as refused:
        client.token(CRM, "tickets:write", intent="Close every ticket")
    assert refused.value.error == "invalid_scope"
