"""Agents with a SPIFFE ID present a JWT-SVID from their trust domain as the client assertion."""

import json
import time
import uuid

import jwt
import pytest
from django.core.exceptions import ValidationError

from inventory.services import identity_activate
from tokens.credentials import credential_add_spiffe
from tokens.models import IssuedToken, TrustDomain, WorkloadCredential
from tokens.services import trust_domain_create, trust_domain_update

from .conftest import ASSERTION_TYPE, CRM, ISSUER, TASK, TOKEN_URL, new_private_key, public_jwk, token_request

SPIFFE_ID = "spiffe://prod.example.com/ns/support/sa/summariser"
JWT_SPIFFE = "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe"


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


def svid(key, *, sub=SPIFFE_ID, aud=TOKEN_URL, kid="td-1", lifetime=60, alg="ES256", **claims):
    now = int(time.time())
    payload = {"sub": sub, "aud": aud if isinstance(aud, list) else [aud], "exp": now + lifetime, "iat": now, **claims}
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})


def request_with(client, assertion, **params):
    data = {
        "grant_type": "client_credentials", "resource": CRM, "scope": "tickets:read",
        "authorization_details": json.dumps(TASK),
        "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion, **params,
    }
    return client.post("/oauth/token", data)


def spiffe_request(client, assertion, **params):
    """As draft-ietf-oauth-spiffe-client-auth sends a JWT-SVID: client_assertion_type jwt-spiffe."""
    return request_with(client, assertion, client_assertion_type=JWT_SPIFFE, **params)


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


# client_assertion_type jwt-spiffe (draft-ietf-oauth-spiffe-client-auth)


def test_a_jwt_svid_sent_as_jwt_spiffe_authenticates_the_identity_without_a_client_id(oauth, svid_agent, bundle_key):
    response = spiffe_request(oauth, svid(bundle_key, aud=ISSUER))
    assert response.status_code == 200, response.content
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == claims["client_id"] == str(svid_agent.pk)
    assert IssuedToken.objects.get().credential.spiffe_id == SPIFFE_ID


@pytest.mark.parametrize("aud", [TOKEN_URL, [ISSUER, CRM], CRM], ids=["token endpoint", "a second audience", "another party"])
def test_jwt_spiffe_takes_the_portals_issuer_as_the_svids_only_audience(oauth, svid_agent, bundle_key, aud):
    response = spiffe_request(oauth, svid(bundle_key, aud=aud, jti=uuid.uuid4().hex))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert f"issuer ({ISSUER}) as its only audience" in response.json()["error_description"]
    assert "only audience" in WorkloadCredential.objects.get(spiffe_id=SPIFFE_ID).refusal
    assert not IssuedToken.objects.exists()


def test_jwt_spiffe_takes_nothing_but_a_jwt_svid(oauth, svid_agent, agent, crm, grant):
    grant(agent, crm, ["tickets:read"])
    signed = spiffe_request(oauth, agent.assertion(aud=ISSUER), client_id=agent.client_id)
    assert signed.status_code == 401 and signed.json()["error"] == "invalid_client"
    assert "jwt-spiffe" in signed.json()["error_description"]
    assert not IssuedToken.objects.exists()
    assert token_request(oauth, agent).status_code == 200  # the same agent's assertion, as jwt-bearer


def test_jwt_spiffe_refuses_an_svid_of_an_unregistered_trust_domain(oauth, svid_agent):
    stranger = svid(new_private_key(), sub="spiffe://elsewhere.example.com/ns/support/sa/summariser", aud=ISSUER)
    response = spiffe_request(oauth, stranger)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert not IssuedToken.objects.exists()


def test_jwt_spiffe_checks_a_client_id_when_one_is_sent(oauth, svid_agent, bundle_key, make_identity, alice):
    other = make_identity(alice)
    assert spiffe_request(oauth, svid(bundle_key, aud=ISSUER), client_id=str(other.pk)).status_code == 401
    assert spiffe_request(oauth, svid(bundle_key, aud=ISSUER), client_id=str(svid_agent.pk)).status_code == 200


def test_an_svid_is_accepted_once_whichever_assertion_type_carries_it(oauth, svid_agent, bundle_key):
    without_jti = svid(bundle_key, aud=ISSUER)  # SPIRE may leave jti out: the SVID itself is single-use
    assert spiffe_request(oauth, without_jti).status_code == 200
    again = request_with(oauth, without_jti)
    assert again.status_code == 401 and "already used" in again.json()["error_description"]
    assert spiffe_request(oauth, without_jti).status_code == 401
    with_jti = svid(bundle_key, aud=ISSUER, jti=uuid.uuid4().hex)
    assert request_with(oauth, with_jti).status_code == 200
    assert spiffe_request(oauth, with_jti).status_code == 401
    assert IssuedToken.objects.count() == 2


def test_a_bundles_rsa_key_without_alg_verifies_rs256_svids_only(oauth, svid_agent, trust_domain, sam):
    plain, pss = new_private_key("RS256"), new_private_key("PS256")
    trust_domain_update(actor=sam, trust_domain=trust_domain, jwks={"keys": [
        public_jwk(plain, kid="td-rsa", use="jwt-svid"), public_jwk(pss, kid="td-pss", use="jwt-svid", alg="PS256"),
    ]})
    response = spiffe_request(oauth, svid(plain, kid="td-rsa", aud=ISSUER, alg="PS256"))
    assert response.status_code == 401 and response.json()["error_description"] == "Unknown client or key."
    refusal = WorkloadCredential.objects.get(spiffe_id=SPIFFE_ID).refusal
    assert "used with RS256 only" in refusal and 'the trust domain\'s bundle must say "alg": "PS256"' in refusal
    assert spiffe_request(oauth, svid(plain, kid="td-rsa", aud=ISSUER, alg="RS256")).status_code == 200
    assert spiffe_request(oauth, svid(pss, kid="td-pss", aud=ISSUER, alg="PS256")).status_code == 200
    assert spiffe_request(oauth, svid(pss, kid="td-pss", aud=ISSUER, alg="RS256")).status_code == 401
