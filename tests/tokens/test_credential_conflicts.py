"""Adding a credential where the state refuses it: an offboarded identity, a trust domain or
issuer no longer trusted. The API answers 409 with the reason as one string, the pages keep the
message on the form; nothing is written."""

import json

import pytest

from inventory.services import identity_offboard
from nhiportal.audit.models import AuditEvent
from nhiportal.conflicts import StateConflict
from tokens.credentials import credential_add_jwk
from tokens.distrust import trust_end
from tokens.federation import federated_issuer_create
from tokens.models import WorkloadCredential
from tokens.services import trust_domain_create

from .conftest import new_private_key, public_jwk


def post(client, data):
    return client.post("/api/v1/credentials/", data, content_type="application/json")


def assert_conflict(response, words):
    assert response.status_code == 409, response.content
    body = response.json()
    assert list(body) == ["detail"] and isinstance(body["detail"], str), body
    assert words in body["detail"], body


@pytest.fixture
def offboarded(alice, make_identity):
    identity = make_identity(alice, credential=False, name="retired-bot")
    identity_offboard(actor=alice, identity=identity, reason="Project over.")
    return identity


def test_it_answers_409_to_a_key_for_an_offboarded_identity(client_for, alice, offboarded):
    response = post(client_for(alice), {"identity": str(offboarded.pk), "jwk": public_jwk(new_private_key())})
    assert_conflict(response, "An offboarded identity cannot get new credentials.")
    assert not WorkloadCredential.objects.filter(identity=offboarded).exists()
    assert not AuditEvent.objects.filter(action="credential.add").exists()


def test_the_service_refuses_it_as_a_state_conflict(alice, offboarded):
    with pytest.raises(StateConflict, match="offboarded identity cannot get new credentials"):
        credential_add_jwk(actor=alice, identity=offboarded, jwk=public_jwk(new_private_key()))


def test_the_page_keeps_the_message_on_the_form(client_for, alice, offboarded):
    response = client_for(alice).post(
        f"/identities/{offboarded.pk}/credentials/new-key/", {"jwk": json.dumps(public_jwk(new_private_key()))},
    )
    assert response.status_code == 400
    assert "An offboarded identity cannot get new credentials." in response.content.decode()
    assert not WorkloadCredential.objects.filter(identity=offboarded).exists()


def test_it_answers_409_to_a_spiffe_id_in_a_trust_domain_no_longer_trusted(client_for, sam, alice, make_identity):
    domain = trust_domain_create(actor=sam, name="prod.example.org", jwks={"keys": [public_jwk(new_private_key(), kid="td-1", use="jwt-svid")]})
    trust_end(actor=sam, holder=domain, reason="The SPIRE server was breached.")
    identity = make_identity(alice, credential=False)
    response = post(client_for(alice), {"identity": str(identity.pk), "spiffe_id": "spiffe://prod.example.org/agent"})
    assert_conflict(response, "no longer trusted")
    assert not WorkloadCredential.objects.filter(identity=identity).exists()


def test_it_answers_409_to_a_subject_of_an_issuer_no_longer_trusted(client_for, sam, alice, make_identity):
    issuer = federated_issuer_create(
        actor=sam, name="GitHub Actions", issuer="https://token.actions.example.com", jwks={"keys": [public_jwk(new_private_key(), kid="gh-1")]},
    )
    trust_end(actor=sam, holder=issuer, reason="The provider's signing key leaked.")
    identity = make_identity(alice, credential=False)
    body = {"identity": str(identity.pk), "federated_issuer": issuer.pk, "subject": "repo:acme/etl:ref:refs/heads/main"}
    assert_conflict(post(client_for(alice), body), "no longer trusted")
    assert not WorkloadCredential.objects.filter(identity=identity).exists()


def test_a_malformed_spiffe_id_stays_a_400_keyed_by_field(client_for, alice, make_identity):
    identity = make_identity(alice, credential=False)
    response = post(client_for(alice), {"identity": str(identity.pk), "spiffe_id": "not-a-spiffe-id"})
    assert response.status_code == 400 and "spiffe_id" in response.json()


def test_the_schema_documents_the_409_of_adding_a_credential(client_for, sam):
    described = client_for(sam).get("/api/schema/", {"format": "json"}).json()
    answers = described["paths"]["/api/v1/credentials/"]["post"]["responses"]
    assert answers["409"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_it_answers_409_to_a_grant_for_an_offboarded_identity(client_for, sam, offboarded, crm):
    response = client_for(sam).post("/api/v1/grants/", {
        "identity": str(offboarded.pk), "service": crm.pk, "scopes": ["tickets:read"],
        "ends_at": "2099-01-01T00:00:00Z", "justification": "x",
    }, content_type="application/json")
    assert_conflict(response, "An offboarded identity cannot receive grants.")
    assert not AuditEvent.objects.filter(action="grant.create").exists()
