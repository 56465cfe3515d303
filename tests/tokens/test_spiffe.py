"""Agents with a SPIFFE ID present a JWT-SVID from their trust domain as the client assertion."""

import json
import time
import uuid

import jwt
import pytest
from django.core.exceptions import ValidationError

from inventory.services import identity_activate
from tokens.credentials import credential_add_spiffe
from tokens.models import IssuedToken, TrustDomain
from tokens.services import trust_domain_create, trust_domain_update

from .conftest import ASSERTION_TYPE, CRM, TASK, TOKEN_URL, new_private_key, public_jwk

SPIFFE_ID = "spiffe://prod.example.com/ns/support/sa/summariser"


@pytest.fixture
def bundle_key():
    return new_private_key()


@pytest.fixture
def trust_domain(sam, bundle_key):
    return trust_domain_create(actor=sam, name="prod.example.com", jwks={"keys": [public_jwk(bundle_key, kid="td-1", use="jwt-svid")]})


@pytest.fixture
def svid_agent(make_identity, alice, trust_domain, crm, grant):
    identity = make_identity(alice, credential=False)
    credential_add_spiffe(actor=alice, identity=identity, spiffe_id=SPIFFE_ID)
    identity = identity_activate(actor=alice, identity=identity)
    grant(identity, crm, ["tickets:read"])
    return identity


def svid(key, *, sub=SPIFFE_ID, aud=TOKEN_URL, kid="td-1", lifetime=60, **claims):
    now = int(time.time())
    payload = {"sub": sub, "aud": [aud], "exp": now + lifetime, "iat": now, **claims}
    return jwt.encode(payload, key, algorithm="ES256", headers={"kid": kid, "typ": "JWT"})


def request_with(client, assertion, **params):
    data = {
        "grant_type": "client_credentials", "resource": CRM, "scope": "tickets:read",
        "authorization_details": json.dumps(TASK),
        "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion, **params,
    }
    return client.post("/oauth/token", data)


def test_a_jwt_svid_authenticates_the_identity(oauth, svid_agent, bundle_key):
    response = request_with(oauth, svid(bundle_key, jti=uuid.uuid4().hex), client_id=str(svid_agent.pk))
    assert response.status_code == 200, response.content
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == claims["client_id"] == str(svid_agent.pk)
    assert IssuedToken.objects.get().credential.spiffe_id == SPIFFE_ID


def test_an_svid_without_jti_is_single_use(oauth, svid_agent, bundle_key):
    token = svid(bundle_key)
    assert request_with(oauth, token).status_code == 200
    assert request_with(oauth, token).status_code == 401


def test_an_svid_from_another_key_or_domain_is_refused(oauth, svid_agent, bundle_key):
    assert request_with(oauth, svid(new_private_key())).status_code == 401
    assert request_with(oauth, svid(bundle_key, kid="other")).status_code == 401
    assert request_with(oauth, svid(bundle_key, sub="spiffe://prod.example.com/someone-else")).status_code == 401
    assert request_with(oauth, svid(bundle_key, aud="https://crm.example.com")).status_code == 401
    assert request_with(oauth, svid(bundle_key, lifetime=3600)).status_code == 401
    assert not IssuedToken.objects.exists()


def test_a_client_id_that_does_not_match_is_refused(oauth, svid_agent, bundle_key, make_identity, alice):
    other = make_identity(alice)
    assert request_with(oauth, svid(bundle_key), client_id=str(other.pk)).status_code == 401


def test_a_replaced_bundle_takes_effect(oauth, svid_agent, bundle_key, trust_domain, sam):
    rotated = new_private_key()
    trust_domain_update(actor=sam, trust_domain=trust_domain, jwks={"keys": [public_jwk(rotated, kid="td-2")]})
    assert request_with(oauth, svid(bundle_key)).status_code == 401
    assert request_with(oauth, svid(rotated, kid="td-2")).status_code == 200


def test_a_spiffe_id_belongs_to_one_identity(svid_agent, make_identity, alice):
    other = make_identity(alice, credential=False)
    with pytest.raises(ValidationError):
        credential_add_spiffe(actor=alice, identity=other, spiffe_id=SPIFFE_ID)


def test_a_bundle_stored_before_todays_checks_refuses_its_svids_rather_than_failing(oauth, svid_agent, bundle_key, trust_domain):
    leaked = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(new_private_key())), "use": "x509-svid"}
    TrustDomain.objects.filter(pk=trust_domain.pk).update(jwks={"keys": [*trust_domain.jwks["keys"], leaked]}, updated_at=trust_domain.updated_at)
    trust_domain.refresh_from_db()
    response = request_with(oauth, svid(bundle_key, jti=uuid.uuid4().hex), client_id=str(svid_agent.pk))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
