"""An identity's blast radius: what a copy of its key would reach now, on its page and in the API."""

import pytest

from inventory.services import identity_activate, identity_suspend, identity_update
from tokens.blast_radius import blast_radius
from tokens.credentials import credential_add_federated
from tokens.delegations import delegation_create
from tokens.federation import federated_issuer_create
from tokens.models import Service
from tokens.services import grant_revoke, service_create

from .conftest import new_private_key, public_jwk


@pytest.fixture
def vault(sam):
    return service_create(
        actor=sam, name="Payments", audience="https://payments.example.com", owner=sam, sensitivity=4, requires_dpop=True,
        scopes=[{"name": "payments:send", "description": "Pay", "consequential": True}, {"name": "payments:read", "description": "Read"}],
    )


def test_it_lists_the_live_grants_most_sensitive_first_with_their_consequential_scopes(agent, crm, vault, grant):
    grant(agent, crm, ["tickets:read", "customers:export"])
    grant(agent, vault, ["payments:send"])
    radius = blast_radius(agent.identity)
    assert radius.gets_tokens and radius.keys == 1 and radius.networks == () and radius.per_minute == 600
    assert [(r.service_name, r.scopes, r.consequential, r.sensitivity_label, r.requires_dpop) for r in radius.reaches] == [
        ("Payments", ("payments:send",), ("payments:send",), "Restricted", True),
        ("CRM", ("customers:export", "tickets:read"), ("customers:export",), "Internal", False),  # as the grant keeps them, sorted
    ]
    assert radius.top_sensitivity == "Restricted" and radius.consequential == 2 and radius.unbound_services == 1


def test_two_grants_on_one_service_count_as_one_service(agent, crm, grant, alice, client_for):
    grant(agent, crm, ["tickets:read", "customers:export"])
    grant(agent, crm, ["customers:export"])
    radius = blast_radius(agent.identity)
    assert len(radius.reaches) == 2  # each grant listed, with its own end
    assert (radius.services, radius.unbound_services, radius.consequential) == (1, 1, 1)
    panel = client_for(alice).get(f"/identities/{agent.identity.pk}/blast-radius-panel/").content.decode()
    assert "on 1 service holding" in panel and "Have 1 of its services" in panel


def test_revoked_grants_and_inactive_services_are_out_of_reach(agent, crm, vault, grant, sam):
    grant_revoke(actor=sam, grant=grant(agent, crm, ["tickets:read"]), reason="not needed")
    grant(agent, vault, ["payments:read"])
    Service.objects.filter(pk=vault.pk).update(is_active=False)
    assert blast_radius(agent.identity).reaches == []


def test_a_suspended_identity_reaches_nothing_now(agent, crm, grant, alice):
    grant(agent, crm, ["tickets:read"])
    identity = identity_suspend(actor=alice, identity=agent.identity, reason="investigating")
    radius = blast_radius(identity)
    assert not radius.gets_tokens and radius.status_label == "suspended" and len(radius.reaches) == 1


def test_delegation_reach_is_listed_apart(make_agent, agent, crm, vault, grant, alice):
    lender = make_agent(name="payments-bot")
    grant(lender, vault, ["payments:read"])
    delegation_create(actor=alice, principal=lender.identity, delegate_id=agent.identity.pk, reason="reads payments for it")
    radius = blast_radius(agent.identity)
    assert radius.reaches == []
    assert [(r.through, r.service_name) for r in radius.through_delegation] == [("payments-bot", "Payments")]


# The page and the API


def test_the_owner_reads_it_on_the_identity_page(agent, crm, grant, alice, client_for):
    grant(agent, crm, ["tickets:read", "customers:export"])
    page = client_for(alice).get(f"/identities/{agent.identity.pk}/")
    assert "If its key leaked" in page.content.decode()
    panel = client_for(alice).get(f"/identities/{agent.identity.pk}/blast-radius-panel/").content.decode()
    assert "<strong>from anywhere</strong>" in panel and "<strong>600 a minute</strong>" in panel
    assert "each for up to <strong>15 minutes</strong>" in panel and "1 consequential scope" in panel
    assert "Bind it to the networks it runs in" in panel


def test_networks_and_a_lower_limit_show_in_the_panel(agent, crm, grant, sam, client_for):
    grant(agent, crm, ["tickets:read"])
    identity_update(actor=sam, identity=agent.identity, expected_version=agent.identity.version, allowed_networks=["10.1.0.0/16"], token_rate_per_minute=6)
    panel = client_for(sam).get(f"/identities/{agent.identity.pk}/blast-radius-panel/").content.decode()
    assert "<strong>only from 10.1.0.0/16</strong>" in panel and "<strong>6 a minute</strong>" in panel
    assert "Bind it to the networks" not in panel


def test_an_identity_without_grants_reaches_nothing(agent, alice, client_for):
    panel = client_for(alice).get(f"/identities/{agent.identity.pk}/blast-radius-panel/").content.decode()
    assert "It holds no live grant on an active service" in panel


def test_the_api_answers_the_same(agent, crm, grant, rita, client_for):
    grant(agent, crm, ["customers:export"])
    body = client_for(rita).get(f"/api/v1/identities/{agent.identity.pk}/blast-radius/").json()
    assert body["gets_tokens"] is True and body["networks"] == [] and body["ttl_seconds"] == 900
    assert [(r["service_name"], r["consequential"], r["sensitivity"]) for r in body["reaches"]] == [("CRM", ["customers:export"], "Internal")]


def test_a_federated_agent_has_no_key_to_copy_and_its_platform_tokens_work_briefly(sam, alice, make_identity, crm, grant, client_for):
    issuer = federated_issuer_create(
        actor=sam, name="Agents cluster", issuer="https://k8s.example.com", jwks={"keys": [public_jwk(new_private_key(), kid="c1")]},
        max_age=900, reusable=True,
    )
    identity = make_identity(alice, credential=False)
    credential_add_federated(actor=alice, identity=identity, federated_issuer=issuer, subject="system:serviceaccount:agents:bot")
    identity = identity_activate(actor=alice, identity=identity)
    grant(identity, crm, ["tickets:read"])
    panel = client_for(alice).get(f"/identities/{identity.pk}/blast-radius-panel/").content.decode()
    assert "Whoever copied one of its Agents cluster tokens could get tokens" in panel
    assert "there is no key of its own to copy" in panel and "<strong>again and again</strong>" in panel and "at most 15 minutes" in panel
    body = client_for(alice).get(f"/api/v1/identities/{identity.pk}/blast-radius/").json()
    assert body["federated"] == [
        {"issuer": "Agents cluster", "subject": "system:serviceaccount:agents:bot", "max_age": 900, "reusable": True}
    ]
    assert "<code>system:serviceaccount:agents:bot</code>" in panel and "starts with" not in panel
    credential_add_federated(actor=alice, identity=identity, federated_issuer=issuer, subject="system:serviceaccount:jobs:*")
    panel = client_for(alice).get(f"/identities/{identity.pk}/blast-radius-panel/").content.decode()
    assert "<strong>every</strong> sub that starts with <code>system:serviceaccount:jobs:</code>" in panel


def test_outsiders_learn_nothing(agent, crm, grant, bob, charlie, client_for, client):
    grant(agent, crm, ["tickets:read"])
    for person in (bob, charlie):
        assert client_for(person).get(f"/identities/{agent.identity.pk}/blast-radius-panel/").status_code == 404
        assert client_for(person).get(f"/api/v1/identities/{agent.identity.pk}/blast-radius/").status_code == 404
    assert client.get(f"/identities/{agent.identity.pk}/blast-radius-panel/").status_code == 302
