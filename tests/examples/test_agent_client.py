"""examples/agent_client.py against a live portal: a DPoP-bound task token, used, then given back."""

import pytest
import requests
from django.http import JsonResponse
from django.test import RequestFactory
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from examples.agent_client import PortalAgent, PortalError
from inventory.services import identity_activate
from tests.tokens.conftest import CRM, agent, crm, grant, make_agent, new_private_key, public_jwk  # noqa: F401  (fixtures)
from tests.tokens.test_federation import workload_token
from tests.tokens.test_standard_clients import portal  # noqa: F401  (fixture)
from tokens.credentials import credential_add_federated
from tokens.federation import federated_issuer_create
from tokens.models import IssuedToken
from tokens.public_keys import jwk_thumbprint
from tokens.dpop import Nonces
from tokens.verifier import DPoPRequest, TokenVerifier, require_token

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
    assert refused.value.error == "invalid_scope" and refused.value.retry_after is None


def test_the_example_agent_is_told_when_to_ask_again_past_its_rate_limit(client, agent, sam):
    from inventory.services import identity_update

    identity = agent.identity
    identity.refresh_from_db()
    identity_update(actor=sam, identity=identity, expected_version=identity.version, token_rate_per_minute=1)
    client.token(CRM, "tickets:read", intent="Summarise open tickets")
    with pytest.raises(PortalError) as refused:
        client.token(CRM, "tickets:read", intent="Summarise open tickets again")
    assert refused.value.error == "slow_down" and 59 <= refused.value.retry_after <= 60


class VerifyingResourceServer(BaseAdapter):
    """The CRM on the network, verifying with tokens.verifier and handing out its own DPoP nonces."""

    def __init__(self, verifier):
        super().__init__()
        self.statuses = []

        @require_token(verifier, "tickets:read")
        def tickets(request):
            return JsonResponse({"for": request.token_claims["sub"]})

        self.view = tickets

    def send(self, request, **kwargs):
        headers = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in request.headers.items()}
        answer = self.view(RequestFactory().generic(request.method, request.url.removeprefix("https://crm.example.com"),
                                                   secure=True, **{**headers, "HTTP_HOST": "crm.example.com"}))
        self.statuses.append(answer.status_code)
        response = requests.Response()
        response.status_code, response.request, response._content = answer.status_code, request, answer.content
        response.headers = CaseInsensitiveDict(answer.items())
        return response

    def close(self):
        pass


def test_the_example_agent_follows_the_dpop_nonces_of_the_portal_and_the_resource_server(client, live_server, portal, settings):
    _metadata, http = portal
    settings.NHI = {**settings.NHI, "DPOP_NONCE_SECONDS": 300}
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "crm.example.com"]
    token_posts = []
    http.hooks["response"].append(lambda r, **kw: token_posts.append(r.status_code) if r.request.url.endswith("/oauth/token") else None)

    first = client.token(CRM, "tickets:read", intent="Summarise open tickets")
    assert first["token_type"] == "DPoP" and token_posts == [400, 200]  # asked for a nonce, then issued
    client.token(CRM, "tickets:read", intent="Summarise closed tickets")
    assert token_posts == [400, 200, 200]  # the kept nonce is still good

    crm_verifier = TokenVerifier(issuer=live_server.url, audience=CRM, dpop_nonces=Nonces(b"the crm's secret", 60),
                                 http_get=lambda url: http.get(url).content)
    crm_server = VerifyingResourceServer(crm_verifier)
    http.mount("https://crm.example.com/", crm_server)
    assert client.call("GET", API_URL, first).status_code == 200
    assert client.call("GET", API_URL, first).status_code == 200
    assert crm_server.statuses == [401, 200, 200]
    assert client.nonces["https://crm.example.com"] != client.nonces[live_server.url]


def test_the_example_agent_in_a_cluster_presents_its_projected_token_and_holds_no_key(portal, live_server, sam, alice, make_identity, crm, grant):
    _metadata, http = portal
    cluster_key = new_private_key()
    issuer = federated_issuer_create(
        actor=sam, name="Agents cluster", issuer="https://k8s.example.com", audience="api://nhi-portal",
        jwks={"keys": [public_jwk(cluster_key, kid="c1")]}, max_age=900, reusable=True,
    )
    identity = make_identity(alice, credential=False)
    credential_add_federated(actor=alice, identity=identity, federated_issuer=issuer, subject="system:serviceaccount:agents:bot")
    identity_activate(actor=alice, identity=identity)
    grant(identity, crm, ["tickets:read"])
    projected = workload_token(cluster_key, iss=issuer.issuer, sub="system:serviceaccount:agents:bot", aud="api://nhi-portal", kid="c1", lifetime=800)
    client = PortalAgent(live_server.url, str(identity.pk), workload_token=lambda: projected, session=http)
    task = client.token(CRM, "tickets:read", intent="Summarise open tickets")
    assert client.token(CRM, "tickets:read", intent="And again")["token_type"] == "DPoP"
    assert client.end_task(task)["tokens_revoked"] == 1
    assert IssuedToken.objects.filter(identity=identity).count() == 2
    with pytest.raises(ValueError):
        PortalAgent(live_server.url, str(identity.pk), new_private_key(), kid="k", workload_token=lambda: projected, session=http)
