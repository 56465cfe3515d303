"""The token endpoint issues an identity's tokens only to requests from its allowed networks."""

from inventory.services import identity_update
from tokens.models import IssuedToken
from tokens.policy.models import PolicyDecision

from .conftest import token_request

INSIDE, OUTSIDE = "10.20.3.4", "203.0.113.9"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


def bounded(agent, alice, networks=("10.20.0.0/16",)):
    identity = agent.identity
    identity.refresh_from_db()
    identity_update(actor=alice, identity=identity, expected_version=identity.version, allowed_networks=list(networks))


def test_it_issues_to_a_request_from_inside(agent, oauth, crm, grant, alice):
    grant(agent, crm, ["tickets:read"])
    bounded(agent, alice)
    assert token_request(oauth, agent, address=INSIDE).status_code == 200


def test_it_refuses_a_request_from_outside_without_naming_the_networks_and_tells_the_owner(agent, oauth, crm, grant, alice):
    grant(agent, crm, ["tickets:read"])
    bounded(agent, alice)
    response = token_request(oauth, agent, address=OUTSIDE)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "unauthorized_client"
    assert "10.20" not in body["error_description"]
    assert not IssuedToken.objects.exists()
    decision = PolicyDecision.objects.get(identity_id=agent.identity.pk)
    assert decision.policy_ids == ["portal:network"] and decision.decision == "deny"
    assert decision.errors == [f"Asked from {OUTSIDE}, outside its allowed networks."]
    # The refusal committed: the assertion's jti is spent, so it cannot be tried again from inside.
    assertion = agent.assertion()
    token_request(oauth, agent, assertion=assertion, address=OUTSIDE)
    assert token_request(oauth, agent, assertion=assertion, address=INSIDE).json()["error"] == "invalid_client"


def test_a_change_of_networks_holds_for_the_very_next_token(agent, oauth, crm, grant, alice, sam):
    grant(agent, crm, ["tickets:read"])
    assert token_request(oauth, agent, address=OUTSIDE).status_code == 200
    # Issuance plans a client's next token on its last one's facts: the new networks must still count.
    bounded(agent, alice)
    assert token_request(oauth, agent, address=OUTSIDE).json()["error"] == "unauthorized_client"
    bounded(agent, sam, ())  # clearing them is a security admin's to do
    assert token_request(oauth, agent, address=OUTSIDE).status_code == 200


def test_exchanging_a_token_is_bound_to_the_networks_too(agent, oauth, crm, grant, alice):
    grant(agent, crm, ["tickets:read", "tickets:write"])
    bounded(agent, alice)
    held = token_request(oauth, agent, scope="tickets:read tickets:write", address=INSIDE).json()["access_token"]
    exchange = {
        "grant_type": EXCHANGE, "subject_token": held, "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "scope": "tickets:read", "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    }
    outside = oauth.post("/oauth/token", {**exchange, "client_assertion": agent.assertion()}, REMOTE_ADDR=OUTSIDE)
    assert outside.json()["error"] == "unauthorized_client"
    inside = oauth.post("/oauth/token", {**exchange, "client_assertion": agent.assertion()}, REMOTE_ADDR=INSIDE)
    assert inside.status_code == 200


def test_an_ipv6_agent_inside_an_ipv6_network_gets_its_token(agent, oauth, crm, grant, alice):
    grant(agent, crm, ["tickets:read"])
    bounded(agent, alice, ("2001:db8:42::/48",))
    assert token_request(oauth, agent, address="2001:db8:42::7").status_code == 200
    assert token_request(oauth, agent, address=INSIDE).status_code == 400
