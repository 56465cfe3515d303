"""Cedar policies see how the agent proved itself (context.credential): its own key, a JWT-SVID,
or its platform's token through a federated issuer."""

import json
import uuid

import pytest
from django.urls import reverse

from inventory.services import identity_activate
from tests.policy.conftest import active_version
from tokens.credentials import credential_add_federated
from tokens.federation import federated_issuer_create
from tokens.policy.models import PolicyDecision
from tokens.services import service_update

from .conftest import new_private_key, public_jwk, token_request
from .test_federation import workload_token
from .test_spiffe import request_with

NO_PLATFORM_TOKENS_FOR_CONFIDENTIAL_DATA = """
@id("permit-everything")
permit (principal, action, resource);

@id("platform-tokens-stay-below-confidential")
forbid (principal, action, resource) when { context.credential == "federated" && resource.sensitivity >= 3 };
"""
EXAMPLES = [
    {"name": "own key, confidential data", "service": {"sensitivity": 3}, "expect": "allow"},
    {"name": "platform token, confidential data", "service": {"sensitivity": 3}, "context": {"credential": "federated"},
     "expect": "deny", "expect_policies": ["platform-tokens-stay-below-confidential"]},
    {"name": "platform token, internal data", "service": {"sensitivity": 2}, "context": {"credential": "federated"}, "expect": "allow"},
]


@pytest.fixture
def policy(sam):
    return active_version(sam, NO_PLATFORM_TOKENS_FOR_CONFIDENTIAL_DATA, EXAMPLES)


@pytest.fixture
def pipeline_key():
    return new_private_key()


@pytest.fixture
def pipeline(sam, alice, make_identity, crm, grant, pipeline_key):
    issuer = federated_issuer_create(
        actor=sam, name="GitHub Actions", issuer="https://token.actions.example.com", jwks={"keys": [public_jwk(pipeline_key, kid="gh-1")]},
    )
    identity = make_identity(alice, credential=False)
    credential_add_federated(actor=alice, identity=identity, federated_issuer=issuer, subject="repo:acme/agents:ref:refs/heads/main")
    identity = identity_activate(actor=alice, identity=identity)
    grant(identity, crm, ["tickets:read"])
    return identity


def test_a_rule_on_the_credential_decides_the_federated_agent_and_not_the_one_with_a_key(
    oauth, policy, pipeline, pipeline_key, agent, crm, grant, sam,
):
    service_update(actor=sam, service=crm, sensitivity=3)
    grant(agent, crm, ["tickets:read"])
    assert token_request(oauth, agent).status_code == 200
    token = workload_token(pipeline_key, iss="https://token.actions.example.com", sub="repo:acme/agents:ref:refs/heads/main", jti=uuid.uuid4().hex)
    refused = request_with(oauth, token)
    assert refused.status_code == 400 and refused.json()["error"] == "access_denied"
    decision = PolicyDecision.objects.filter(identity_id=pipeline.pk).get()
    assert decision.request["context"]["credential"] == "federated" and decision.policy_ids == ["platform-tokens-stay-below-confidential"]
    assert PolicyDecision.objects.get(identity_id=agent.identity.pk).request["context"]["credential"] == "jwk"


def test_the_simulator_and_its_api_take_the_credential(client_for, sam, agent, crm, grant, policy):
    service_update(actor=sam, service=crm, sensitivity=3)
    grant(agent, crm, ["tickets:read"])
    client = client_for(sam)
    query = {"identity": str(agent.identity.pk), "service": crm.pk, "action": "issue", "scopes": "tickets:read", "requested_ttl": 300}
    own_key = client.get(reverse("policy:simulator"), query).context["simulation"]  # none given: its own key
    federated = client.get(reverse("policy:simulator"), {**query, "credential": "federated"}).context["simulation"]
    assert (own_key.verdict.decision, federated.verdict.decision) == ("allow", "deny")
    api = reverse("api:policy-simulate")
    body = {"identity": str(agent.identity.pk), "service": crm.pk, "scopes": ["tickets:read"], "credential": "federated"}
    assert client.post(api, json.dumps(body), content_type="application/json").json()["decision"] == "deny"
    refused = client.post(api, {**body, "credential": "password"}, content_type="application/json")
    assert refused.status_code == 400 and "credential" in refused.json()
