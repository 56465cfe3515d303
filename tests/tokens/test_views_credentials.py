"""The workload credentials list and its CSV: how each agent proves itself, for the people who
may see the identity, and nothing of the others."""

import csv
import io

import pytest

from tokens.credentials import credential_add_federated, credential_disable
from tokens.federation import federated_issuer_create
from tokens.models import FederatedIssuer, WorkloadCredential

from .conftest import new_private_key, public_jwk


def _text(response) -> str:
    return b"".join(response.streaming_content).decode()


@pytest.fixture
def estate(sam, alice, bob, make_identity, make_agent, oauth, crm, grant, get_token):
    """alice's agent with a key and a token, alice's pipeline in GitHub Actions, and bob's agent."""
    agent = make_agent(alice, name="alice-agent")
    grant(agent, crm, ["tickets:read"])
    get_token(agent)
    issuer = federated_issuer_create(
        actor=sam, name="GitHub Actions", issuer="https://token.actions.example.com", jwks={"keys": [public_jwk(new_private_key(), kid="gh-1")]},
    )
    pipeline = make_identity(alice, credential=False, name="alice-pipeline")
    credential_add_federated(actor=alice, identity=pipeline, federated_issuer=issuer, subject="repo:acme/etl:ref:refs/heads/main")
    bobs = make_agent(bob, name="bob-agent")
    return agent, pipeline, bobs


def test_an_owner_sees_the_credentials_of_her_identities_only(client_for, alice, estate):
    page = client_for(alice).get("/credentials/").content.decode()
    assert "alice-agent" in page and "alice-pipeline" in page and "bob-agent" not in page
    assert "2 credentials</p>" in page  # counted as the rows are: hers only
    assert "GitHub Actions token for <code>repo:acme/etl:ref:refs/heads/main</code>" in page
    assert "none in the ledger" in page  # the pipeline got no token yet; the agent did


def test_an_outsider_sees_none_and_learns_nothing(client_for, charlie, estate):
    page = client_for(charlie).get("/credentials/")
    assert page.status_code == 200 and b"No credential here" in page.content
    assert b"alice" not in page.content and b"bob-agent" not in page.content
    assert list(csv.reader(io.StringIO(_text(client_for(charlie).get("/credentials/export.csv")))))[1:] == []


def test_compliance_staff_filter_by_kind_and_state(client_for, carol, alice, estate):
    client = client_for(carol)
    federated = client.get("/credentials/", {"kind": "federated"}).content.decode()
    assert "alice-pipeline" in federated and "alice-agent" not in federated and "bob-agent" not in federated
    credential_disable(actor=alice, credential=WorkloadCredential.objects.get(identity=estate[0].identity), reason="Rotated.")
    disabled = client.get("/credentials/", {"state": "disabled"}).content.decode()
    assert "alice-agent" in disabled and "Rotated." in disabled and "bob-agent" not in disabled
    everything = client.get("/credentials/", {"state": "all", "kind": "nonsense"}).content.decode()
    assert all(name in everything for name in ("alice-agent", "alice-pipeline", "bob-agent"))


def test_the_csv_says_what_each_credential_matches_and_its_last_token(client_for, carol, estate):
    rows = list(csv.DictReader(io.StringIO(_text(client_for(carol).get("/credentials/export.csv")))))
    by_identity = {row["identity"]: row for row in rows}
    assert set(by_identity) == {"alice-agent", "alice-pipeline", "bob-agent"}
    assert by_identity["alice-pipeline"]["matches"] == "https://token.actions.example.com sub=repo:acme/etl:ref:refs/heads/main"
    assert by_identity["alice-agent"]["matches"].startswith("EC key ") and by_identity["alice-agent"]["last_token_at"]
    assert by_identity["alice-pipeline"]["last_token_at"] == "" and by_identity["alice-pipeline"]["kind"] == "federated"


def test_the_list_pages_through_many(client_for, sam, alice, make_agent):
    for n in range(30):
        make_agent(alice, name=f"agent-{n:02}", activate=False)
    client = client_for(sam)
    first, second = client.get("/credentials/").content.decode(), client.get("/credentials/", {"page": 2}).content.decode()
    shown = [f"agent-{n:02}" for n in range(30)]
    assert sum(name in first for name in shown) + sum(name in second for name in shown) == 30
    assert sum(name in first for name in shown) < 30


def test_the_list_narrows_to_one_platform_from_its_count(client_for, sam, estate):
    issuer = FederatedIssuer.objects.get()
    listing = client_for(sam).get("/federated-issuers/").content.decode()
    assert f'href="/credentials/?issuer={issuer.pk}">1</a>' in listing
    page = client_for(sam).get("/credentials/", {"issuer": issuer.pk}).content.decode()
    assert "Only the credentials that name <strong>GitHub Actions</strong>" in page
    assert "alice-pipeline" in page and "alice-agent" not in page and "bob-agent" not in page
    assert f'href="?issuer={issuer.pk}&amp;state=all"' in page  # the tabs keep it
    assert f'<input type="hidden" name="issuer" value="{issuer.pk}">' in page  # and so does the identity filter
    assert client_for(sam).get("/credentials/", {"issuer": "999"}).status_code == 404
    assert client_for(sam).get("/credentials/", {"trust_domain": "x"}).status_code == 404


def test_only_a_platform_one_of_your_credentials_names_narrows_your_list(client_for, alice, bob, charlie, estate):
    issuer = FederatedIssuer.objects.get()
    page = client_for(alice).get("/credentials/", {"issuer": issuer.pk}).content.decode()
    assert "Only the credentials that name <strong>GitHub Actions</strong>" in page and "alice-pipeline" in page
    # Platforms are security admins' to list: to anyone else, one their credentials do not name
    # is unknown, like an id that does not exist.
    for person in (bob, charlie):
        refused = client_for(person).get("/credentials/", {"issuer": issuer.pk})
        assert refused.status_code == 404 and b"GitHub Actions" not in refused.content
