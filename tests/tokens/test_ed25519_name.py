"""RFC 9864 names EdDSA over Ed25519 "Ed25519". A client library that follows it (joserfc here)
signs assertions and DPoP proofs with that name; the portal takes them as it takes "EdDSA"."""

import json
import time
import uuid

from joserfc import jwk, jwt

from .conftest import ASSERTION_TYPE, CRM, TASK, TOKEN_URL


def _ed25519_agent(make_agent):
    agent = make_agent(alg="EdDSA")
    key = jwk.OKPKey.import_key(agent.private_key)
    return agent, key


def _signed(key, header: dict, claims: dict) -> str:
    return jwt.encode({"alg": "Ed25519", **header}, claims, key, algorithms=["Ed25519"])


def test_a_client_assertion_signed_as_ed25519_gets_a_token(oauth, make_agent, crm, grant):
    agent, key = _ed25519_agent(make_agent)
    grant(agent, crm, ["tickets:read"])
    now = int(time.time())
    assertion = _signed(key, {"kid": agent.kid}, {
        "iss": agent.client_id, "sub": agent.client_id, "aud": TOKEN_URL, "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex,
    })
    response = oauth.post("/oauth/token", {
        "grant_type": "client_credentials", "resource": CRM, "scope": "tickets:read", "authorization_details": json.dumps(TASK),
        "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion,
    })
    assert response.status_code == 200, response.content


def test_a_dpop_proof_signed_as_ed25519_binds_the_token(oauth, agent, crm, grant):
    grant(agent, crm, ["tickets:read"])
    holder = jwk.OKPKey.generate_key("Ed25519")
    proof = _signed(holder, {"typ": "dpop+jwt", "jwk": holder.as_dict(private=False)}, {
        "htm": "POST", "htu": "http://testserver/oauth/token", "iat": int(time.time()), "jti": uuid.uuid4().hex,
    })
    response = oauth.post("/oauth/token", {
        "grant_type": "client_credentials", "resource": CRM, "scope": "tickets:read", "authorization_details": json.dumps(TASK),
        **agent.auth(),
    }, HTTP_DPOP=proof)
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "DPoP"


def test_discovery_names_ed25519_for_client_assertions(oauth, db):
    metadata = oauth.get("/.well-known/oauth-authorization-server").json()
    assert "Ed25519" in metadata["token_endpoint_auth_signing_alg_values_supported"]
