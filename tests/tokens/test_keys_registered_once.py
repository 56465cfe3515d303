"""A public key is registered once, ever: once disabled (its leak confirmed, say) it is refused
on every identity, under any kid and in any form, so its private half gets no token again. A
SPIFFE ID names a workload, not a secret, and may be registered again once disabled."""

import json

import pytest
from cryptography.hazmat.primitives import serialization

from nhiportal.audit.models import AuditEvent
from tokens.models import WorkloadCredential
from tokens.services import trust_domain_create

from .conftest import new_private_key, public_jwk, token_request

pytestmark = pytest.mark.django_db
CREDENTIALS = "/api/v1/credentials/"


def disable(client, credential_pk):
    response = client.post(f"{CREDENTIALS}{credential_pk}/disable/", {"reason": "Leak confirmed."}, content_type="application/json")
    assert response.status_code == 200 and response.json()["enabled"] is False


def test_a_disabled_key_is_refused_on_its_own_identity_under_a_new_kid(client_for, alice, make_agent, oauth, crm, grant):
    agent = make_agent(alice, kid="k1")
    grant(agent, crm, ["tickets:read"])
    client = client_for(alice)
    disable(client, WorkloadCredential.objects.get(identity=agent.identity).pk)
    again = client.post(
        CREDENTIALS, {"identity": str(agent.identity.pk), "jwk": public_jwk(agent.private_key, kid="k1-again")}, content_type="application/json",
    )
    assert again.status_code == 400
    [reason] = again.json()["jwk"]
    assert "never taken again" in reason and "Generate a new key pair" in reason
    assert WorkloadCredential.objects.filter(identity=agent.identity).count() == 1
    assert not AuditEvent.objects.filter(action="credential.add", after__kid="k1-again").exists()
    # The leaked private half signs for either kid in vain.
    for kid in ("k1", "k1-again"):
        agent.kid = kid
        assert token_request(oauth, agent).status_code == 401
    # A new key pair is what the owner registers instead.
    fresh = client.post(
        CREDENTIALS, {"identity": str(agent.identity.pk), "jwk": public_jwk(new_private_key(), kid="k2")}, content_type="application/json",
    )
    assert fresh.status_code == 201


def test_a_disabled_key_is_refused_on_another_owners_identity_without_saying_whose(client_for, alice, bob, make_agent, make_identity):
    leaked = make_agent(alice, name="alices-secret-project")
    disable(client_for(alice), WorkloadCredential.objects.get(identity=leaked.identity).pk)
    bobs = make_identity(bob, credential=False)
    # The same key as PEM, without a kid: the thumbprint is what counts, not how it is written.
    pem = leaked.private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    for pasted in (pem, json.dumps(public_jwk(leaked.private_key, kid="bobs-key"))):
        response = client_for(bob).post(f"/identities/{bobs.pk}/credentials/new-key/", {"jwk": pasted})
        assert response.status_code == 400
        [reason] = response.context["form"].errors["jwk"]  # next to the field
        assert "never taken again" in reason
        assert b"alices-secret-project" not in response.content and str(leaked.identity.pk).encode() not in response.content
    assert not WorkloadCredential.objects.filter(identity=bobs).exists()


def test_a_disabled_spiffe_id_may_be_registered_again(client_for, sam, alice, make_identity):
    # Pins a judgement rather than a fix: the rule above is for secrets. A SPIFFE ID names the
    # workload; the SVIDs that prove it are short-lived and signed by its trust domain.
    trust_domain_create(actor=sam, name="prod.example.com", jwks={"keys": [public_jwk(new_private_key(), kid="spire-1", use="jwt-svid")]})
    spiffe_id = "spiffe://prod.example.com/ns/prod/sa/indexer"
    old, new = make_identity(alice, credential=False), make_identity(alice, credential=False)
    client = client_for(alice)
    first = client.post(CREDENTIALS, {"identity": str(old.pk), "spiffe_id": spiffe_id}, content_type="application/json")
    assert first.status_code == 201
    taken = client.post(CREDENTIALS, {"identity": str(new.pk), "spiffe_id": spiffe_id}, content_type="application/json")
    assert taken.status_code == 400 and "already in use" in str(taken.json())
    disable(client, first.json()["id"])
    moved = client.post(CREDENTIALS, {"identity": str(new.pk), "spiffe_id": spiffe_id}, content_type="application/json")
    assert moved.status_code == 201
