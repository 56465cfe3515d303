"""Cedar policies see where a token request came from (context.source_address, an ipaddr)."""

import pytest
from django.urls import reverse

from tests.policy.conftest import active_version
from tokens.policy.cedar_request import FactsError, request_from_facts
from tokens.policy.models import PolicyDecision

from .conftest import token_request

LAB_ONLY = """
@id("permit-everything")
permit (principal, action, resource);

@id("tokens-from-the-lab-only")
forbid (principal, action, resource) unless { context.source_address.isInRange(ip("10.20.0.0/16")) };
"""
LAB_EXAMPLES = [
    {"name": "from the lab", "context": {"source_address": "10.20.1.1"}, "expect": "allow"},
    {"name": "from anywhere else", "context": {"source_address": "198.51.100.1"}, "expect": "deny",
     "expect_policies": ["tokens-from-the-lab-only"]},
]


@pytest.fixture
def lab_only(sam):
    return active_version(sam, LAB_ONLY, LAB_EXAMPLES)


def test_a_network_rule_decides_each_token_by_where_it_is_asked_from(agent, oauth, crm, grant, lab_only):
    grant(agent, crm, ["tickets:read"])
    assert token_request(oauth, agent, address="10.20.3.4").status_code == 200
    refused = token_request(oauth, agent, address="203.0.113.9")
    assert refused.status_code == 400 and refused.json()["error"] == "access_denied"
    decisions = PolicyDecision.objects.filter(identity_id=agent.identity.pk).order_by("at", "pk")
    assert [d.request["context"]["source_address"] for d in decisions] == ["10.20.3.4", "203.0.113.9"]
    assert decisions.last().policy_ids == ["tokens-from-the-lab-only"]


def test_an_ipv4_client_of_a_dual_stack_listener_is_seen_as_ipv4(agent, oauth, crm, grant, lab_only):
    grant(agent, crm, ["tickets:read"])
    assert token_request(oauth, agent, address="::ffff:10.20.3.4").status_code == 200


def test_the_simulator_and_its_api_take_the_address(client_for, sam, agent, crm, grant, lab_only):
    grant(agent, crm, ["tickets:read"])
    client = client_for(sam)
    query = {"identity": str(agent.identity.pk), "service": crm.pk, "action": "issue", "scopes": "tickets:read", "requested_ttl": 300}
    inside = client.get(reverse("policy:simulator"), {**query, "source_address": "10.20.9.9"}).context["simulation"]
    outside = client.get(reverse("policy:simulator"), query).context["simulation"]  # none given: 0.0.0.0
    assert (inside.verdict.decision, outside.verdict.decision) == ("allow", "deny")
    bad = client.get(reverse("policy:simulator"), {**query, "source_address": "10.20.9"})
    assert "Enter a valid IPv4 or IPv6 address." in bad.content.decode()
    api = reverse("api:policy-simulate")
    body = {"identity": str(agent.identity.pk), "service": crm.pk, "scopes": ["tickets:read"], "source_address": "10.20.9.9"}
    assert client.post(api, body, content_type="application/json").json()["decision"] == "allow"
    refused = client.post(api, {**body, "source_address": "not-an-address"}, content_type="application/json")
    assert refused.status_code == 400 and "source_address" in refused.json()


def test_typed_in_facts_need_a_real_address_and_old_records_read_as_unknown():
    with pytest.raises(FactsError, match="context.source_address must be an IP address"):
        request_from_facts({"context": {"source_address": "10.20.9"}})
    assert request_from_facts({"context": {"source_address": "::ffff:10.1.2.3"}}).context["source_address"] == "10.1.2.3"
    assert request_from_facts({"context": {"scopes": ["read"]}}).context["source_address"] == "0.0.0.0"
