"""Cedar policies see, at request time, whether the agent asks from a network it never got a token
from (context.new_network); an owner recognises a network the agent really moved to."""

import json

import pytest
from django.urls import reverse

from inventory.services import identity_offboard
from nhiportal.audit.models import AuditEvent
from tests.policy.conftest import active_version
from tokens.models import SourceNetwork
from tokens.policy.models import PolicyDecision
from tokens.posture import factors_by_identity
from tokens.source_networks import new_networks

from .conftest import token_request

pytestmark = pytest.mark.django_db

UNFAMILIAR = """
@id("permit-everything")
permit (principal, action, resource);

@id("unfamiliar-networks-stay-off")
forbid (principal, action, resource) when { context.new_network };
"""
EXAMPLES = [
    {"name": "a known network", "expect": "allow"},
    {"name": "an unfamiliar network", "context": {"new_network": True}, "expect": "deny", "expect_policies": ["unfamiliar-networks-stay-off"]},
]
HOME, ELSEWHERE = "10.1.2.3", "198.51.100.7"


@pytest.fixture
def policy(sam):
    return active_version(sam, UNFAMILIAR, EXAMPLES)


def last_decision(agent) -> PolicyDecision:
    return PolicyDecision.objects.filter(identity_id=agent.identity.pk).latest("pk")


def test_the_first_network_is_the_baseline_and_a_later_unfamiliar_one_is_refused(oauth, policy, agent, crm, grant):
    grant(agent, crm, ["tickets:read"])
    assert token_request(oauth, agent, address=HOME).status_code == 200  # its first: nothing to compare with
    assert last_decision(agent).request["context"]["new_network"] is False
    assert token_request(oauth, agent, address="10.1.2.200").status_code == 200  # the same /24
    refused = token_request(oauth, agent, address=ELSEWHERE)
    assert refused.status_code == 400 and refused.json()["error"] == "access_denied"
    decision = last_decision(agent)
    assert decision.request["context"]["new_network"] is True and decision.policy_ids == ["unfamiliar-networks-stay-off"]
    # Refused, so not recorded: the agent stays refused from there until an owner says otherwise.
    assert not SourceNetwork.objects.filter(identity=agent.identity, network="198.51.100.0/24").exists()
    assert token_request(oauth, agent, address=ELSEWHERE).status_code == 400


def test_an_owner_recognises_the_network_the_agent_moved_to_and_it_is_neither_news_nor_risk(
    oauth, policy, agent, crm, grant, client_for, alice,
):
    grant(agent, crm, ["tickets:read"])
    assert token_request(oauth, agent, address=HOME).status_code == 200
    assert token_request(oauth, agent, address=ELSEWHERE).status_code == 400
    url = reverse("tokens:identity-network-recognise", args=[agent.identity.pk])
    assert client_for(alice).get(url, {"address": ELSEWHERE}).context["form"]["address"].value() == ELSEWHERE
    response = client_for(alice).post(url, {"address": ELSEWHERE})
    assert response.status_code == 302 and response["Location"].endswith("#credentials")
    source = SourceNetwork.objects.get(identity=agent.identity, network="198.51.100.0/24")
    assert source.recognised_by_label == "alice"
    assert AuditEvent.objects.filter(action="identity.network_recognise", identity_id=agent.identity.pk).count() == 1

    assert token_request(oauth, agent, address=ELSEWHERE).status_code == 200
    assert last_decision(agent).request["context"]["new_network"] is False
    assert not new_networks(source.first_seen_at).exists()  # no mail, no "new" badge
    assert "new_network" not in factors_by_identity(type(agent.identity).objects.filter(pk=agent.identity.pk)).get(agent.identity.pk, [])
    assert not AuditEvent.objects.filter(action="identity.new_network").exists()
    panel = client_for(alice).get(reverse("tokens:identity-credentials-panel", args=[agent.identity.pk])).content.decode()
    assert "recognised" in panel and "Recognise a network…" in panel


@pytest.mark.parametrize("address, message", [
    ("", "This field is required."),
    ("not-an-address", "Give an IP address"),
    (HOME, "is one of its networks already"),
])
def test_recognising_refuses_what_is_not_a_new_address_next_to_the_field(oauth, agent, crm, grant, client_for, alice, address, message):
    grant(agent, crm, ["tickets:read"])
    assert token_request(oauth, agent, address=HOME).status_code == 200
    response = client_for(alice).post(reverse("tokens:identity-network-recognise", args=[agent.identity.pk]), {"address": address})
    assert response.status_code == 400 and message in response.context["form"].errors["address"][0]
    assert SourceNetwork.objects.filter(identity=agent.identity).count() == 1


def test_an_offboarded_identity_gets_no_network_recognised(oauth, agent, crm, grant, client_for, alice):
    grant(agent, crm, ["tickets:read"])
    assert token_request(oauth, agent, address=HOME).status_code == 200
    identity_offboard(identity=agent.identity, actor=alice, reason="retired")
    events = AuditEvent.objects.count()
    response = client_for(alice).post(reverse("tokens:identity-network-recognise", args=[agent.identity.pk]), {"address": ELSEWHERE})
    assert response.status_code == 400 and "offboarded" in response.context["form"].errors["address"][0]
    assert not SourceNetwork.objects.filter(identity=agent.identity, network="198.51.100.0/24").exists()
    assert AuditEvent.objects.count() == events


def test_only_those_who_change_the_identity_recognise_its_networks(agent, client_for, bob, rita, charlie, client):
    url = reverse("tokens:identity-network-recognise", args=[agent.identity.pk])
    assert client_for(bob).get(url).status_code == 404  # another owner's: not even there
    assert client_for(charlie).post(url, {"address": ELSEWHERE}).status_code == 404
    assert client_for(rita).post(url, {"address": ELSEWHERE}).status_code == 403  # reads everything, changes nothing
    assert client.get(url).status_code == 302  # to sign in
    assert not SourceNetwork.objects.exists()


def test_the_simulator_and_its_api_take_new_network(client_for, sam, agent, crm, grant, policy):
    grant(agent, crm, ["tickets:read"])
    client = client_for(sam)
    query = {"identity": str(agent.identity.pk), "service": crm.pk, "action": "issue", "scopes": "tickets:read", "requested_ttl": 300}
    assert client.get(reverse("policy:simulator"), query).context["simulation"].verdict.decision == "allow"
    assert client.get(reverse("policy:simulator"), {**query, "new_network": "on"}).context["simulation"].verdict.decision == "deny"
    body = {"identity": str(agent.identity.pk), "service": crm.pk, "scopes": ["tickets:read"], "new_network": True}
    answer = client.post(reverse("api:policy-simulate"), json.dumps(body), content_type="application/json").json()
    assert answer["decision"] == "deny" and answer["request"]["context"]["new_network"] is True


def test_the_api_recognises_a_network_for_those_who_change_the_identity(oauth, agent, crm, grant, client_for, alice, bob, rita):
    grant(agent, crm, ["tickets:read"])
    assert token_request(oauth, agent, address=HOME).status_code == 200
    url, body = "/api/v1/source-networks/", {"identity": str(agent.identity.pk), "address": ELSEWHERE}

    def post(person, data):
        return client_for(person).post(url, json.dumps(data), content_type="application/json")

    assert post(bob, body).status_code == 404 and post(rita, body).status_code == 403
    refused = post(alice, {**body, "address": "nowhere"})
    assert refused.status_code == 400 and "address" in refused.json()
    created = post(alice, body)
    assert created.status_code == 201, created.content
    assert created.json() | {"first_seen_at": None} == {
        "identity": str(agent.identity.pk), "identity_name": agent.identity.name, "network": "198.51.100.0/24",
        "first_seen_at": None, "baseline": False, "recognised_by": "alice",
    }
    assert post(alice, body).status_code == 400  # one of its networks already
    listed = client_for(alice).get(url, {"identity": str(agent.identity.pk)}).json()["results"]
    assert [(n["network"], n["recognised_by"]) for n in listed] == [("198.51.100.0/24", "alice"), ("10.1.2.0/24", "")]
