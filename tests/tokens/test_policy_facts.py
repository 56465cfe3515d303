"""The facts policy decides on stay put once reviewers granted access on them: an owner cannot
talk an agent out of a policy's refusal by editing its record (inventory/policy_facts.py)."""

import pytest
from django.core.exceptions import ValidationError

from inventory.services import identity_update

from .conftest import token_request

EXPORT = "customers:export"  # consequential on the CRM: an autonomous agent waits for a person


def test_redeclaring_an_autonomous_agent_supervised_does_not_skip_the_approval(client_for, oauth, make_agent, crm, grant, alice):
    agent = make_agent(autonomy="autonomous")
    grant(agent, crm, ["tickets:read", EXPORT])
    assert token_request(oauth, agent, scope=EXPORT).json()["error"] == "authorization_pending"
    identity = agent.identity
    response = client_for(alice).patch(
        f"/api/v1/identities/{identity.pk}/", {"version": identity.version, "autonomy": "supervised"}, content_type="application/json",
    )
    assert response.status_code == 400 and "autonomy" in response.json()
    assert token_request(oauth, agent, scope=EXPORT).json()["error"] == "authorization_pending"


def test_a_registered_identity_granted_access_is_in_service(make_agent, crm, grant, alice):
    agent = make_agent(activate=False)
    grant(agent, crm, ["tickets:read"])
    with pytest.raises(ValidationError) as refused:
        identity_update(actor=alice, identity=agent.identity, expected_version=agent.identity.version, environment="development")
    assert set(refused.value.message_dict) == {"environment"}
