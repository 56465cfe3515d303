"""The identity page tells an agent's developer how to connect it, filled in; nothing secret."""

from pathlib import Path

import pytest
from django.test import Client

from tokens.credentials import credential_add_federated
from tokens.federation import GITHUB_ACTIONS, federated_issuer_create

from .conftest import new_private_key, public_jwk

pytestmark = pytest.mark.django_db


def test_the_panel_fills_in_the_client_id_key_services_and_code(client_for, agent, crm, grant, alice, rita, charlie):
    grant(agent, crm, ["tickets:read", "tickets:write"])
    url = f"/identities/{agent.identity.pk}/connect-panel/"
    panel = client_for(alice).get(url).content.decode()
    assert agent.identity.client_id in panel and "http://testserver/oauth/token" in panel
    assert f"key id <span class=\"mono\">{agent.kid}</span>" in panel
    assert '<span class="mono">https://crm.example.com</span> (tickets:read tickets:write)' in panel
    assert f'kid="{agent.kid}"' in panel and 'agent.token("https://crm.example.com", "tickets:read"' in panel
    assert "BEGIN" not in panel and "\"d\"" not in panel  # no key material: no PEM, no private JWK member
    assert client_for(rita).get(url).status_code == 200  # readers may see it: nothing secret
    assert client_for(charlie).get(url).status_code == 404
    page = client_for(alice).get(f"/identities/{agent.identity.pk}/").content.decode()
    assert "Connect the agent" in page and url in page


def test_the_example_client_downloads_for_people_signed_in(client_for, alice):
    response = client_for(alice).get("/examples/agent_client.py")
    assert response.status_code == 200 and response["Content-Disposition"] == 'attachment; filename="agent_client.py"'
    assert response.content.decode() == (Path(__file__).resolve().parents[2] / "examples" / "agent_client.py").read_text()
    assert Client().get("/examples/agent_client.py")["Location"].startswith("/accounts/login/")


def test_the_panel_says_where_from_how_often_and_which_services_want_bound_tokens(client_for, agent, crm, grant, alice, sam):
    from inventory.services import identity_update
    from tokens.services import service_update

    grant(agent, crm, ["tickets:read"])
    url = f"/identities/{agent.identity.pk}/connect-panel/"
    panel = client_for(alice).get(url).content.decode()
    assert "anywhere (no allowed networks set)" in panel and "600 tokens a minute" in panel and "DPoP-bound tokens only" not in panel
    identity = agent.identity
    identity.refresh_from_db()
    identity_update(actor=sam, identity=identity, expected_version=identity.version, allowed_networks=["10.20.0.0/16"], token_rate_per_minute=30)
    service_update(actor=sam, service=crm, requires_dpop=True)
    panel = client_for(alice).get(url).content.decode()
    assert '<span class="mono">10.20.0.0/16</span>' in panel and "30 tokens a minute" in panel and "DPoP-bound tokens only" in panel


def test_the_panel_of_a_federated_agent_shows_its_platform_token_and_no_key(client_for, alice, sam, make_identity):
    issuer = federated_issuer_create(
        actor=sam, name="GitHub Actions", issuer="https://token.actions.example.com", audience="api://nhi-portal",
        jwks={"keys": [public_jwk(new_private_key(), kid="gh-1")]},
    )
    identity = make_identity(alice, credential=False)
    credential_add_federated(actor=alice, identity=identity, federated_issuer=issuer, subject="repo:acme/agents:ref:refs/heads/main")
    panel = client_for(alice).get(f"/identities/{identity.pk}/connect-panel/").content.decode()
    assert 'its GitHub Actions token for <span class="mono">repo:acme/agents:ref:refs/heads/main</span>' in panel
    assert '<span class="mono">api://nhi-portal</span>' in panel
    assert "workload_token=read_platform_token" in panel and "private_key," not in panel


def test_the_panel_shows_the_workflow_steps_for_github_actions(client_for, alice, sam, make_identity):
    issuer = federated_issuer_create(
        actor=sam, name="GitHub Actions", issuer=GITHUB_ACTIONS, audience="api://nhi-portal", jwks={"keys": [public_jwk(new_private_key(), kid="gh-1")]},
    )
    identity = make_identity(alice, credential=False)
    credential_add_federated(actor=alice, identity=identity, federated_issuer=issuer, subject="repo:acme/agents:environment:production")
    panel = client_for(alice).get(f"/identities/{identity.pk}/connect-panel/").content.decode()
    assert "id-token: write" in panel and "&amp;audience=api%3A//nhi-portal" in panel
    assert f"-d client_id={identity.pk}" in panel and "serviceAccountToken" not in panel
    assert "Its sub must be <code>repo:acme/agents:environment:production</code>" in panel
    releases = make_identity(alice, credential=False)
    credential_add_federated(actor=alice, identity=releases, federated_issuer=issuer, subject="repo:acme/agents:ref:refs/tags/*")
    panel = client_for(alice).get(f"/identities/{releases.pk}/connect-panel/").content.decode()
    assert "Its sub must start with <code>repo:acme/agents:ref:refs/tags/</code>" in panel


def test_the_panel_shows_the_projected_token_for_a_kubernetes_service_account(client_for, alice, sam, make_identity):
    issuer = federated_issuer_create(
        actor=sam, name="Agents cluster", issuer="https://k8s.example.com", jwks={"keys": [public_jwk(new_private_key(), kid="c1")]},
    )
    identity = make_identity(alice, credential=False)
    credential_add_federated(actor=alice, identity=identity, federated_issuer=issuer, subject="system:serviceaccount:agents:summariser")
    panel = client_for(alice).get(f"/identities/{identity.pk}/connect-panel/").content.decode()
    assert "serviceAccountToken" in panel and "service account <code>agents:summariser</code>" in panel
    assert "the pod presents this one until it is 480 s old" in panel  # the issuer's 300 s would refuse it
    assert "accepts each token once" in panel and "id-token: write" not in panel
