"""A real OAuth client library (Authlib, private_key_jwt) against the live portal, and tokens
verified by another JOSE library (joserfc) through the published JWKS."""

import json
import time

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptography.hazmat.primitives import serialization
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, KeySet

from tokens.models import IssuedToken

from .conftest import CRM, TASK

pytestmark = pytest.mark.django_db(transaction=True)


class ShortLivedPrivateKeyJWT(PrivateKeyJWT):
    """Authlib's private_key_jwt, with the 5-minute assertion lifetime the portal requires.

    (Authlib signs for an hour by default, and reuses a claims dict given to the constructor,
    so a fresh one is set per assertion.)
    """

    def sign(self, auth, token_endpoint):
        self.claims = {"exp": int(time.time()) + 120}
        return super().sign(auth, token_endpoint)


@pytest.fixture
def portal(live_server, settings):
    settings.NHI = {**settings.NHI, "ISSUER": live_server.url}
    http = requests.Session()
    http.trust_env = False  # loopback only, never a proxy
    metadata = http.get(f"{live_server.url}/.well-known/oauth-authorization-server").json()
    yield metadata, http
    http.close()


@pytest.fixture
def session(portal, agent, crm, grant):
    metadata, _ = portal
    grant(agent, crm, ["tickets:read", "tickets:write"])
    pem = agent.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    client = OAuth2Session(
        client_id=agent.client_id,
        client_secret=ECKey.import_key(pem),
        token_endpoint_auth_method=ShortLivedPrivateKeyJWT(metadata["token_endpoint"], alg="ES256", headers={"kid": agent.kid}),
        revocation_endpoint_auth_method=ShortLivedPrivateKeyJWT(
            metadata["revocation_endpoint"], alg="ES256", headers={"kid": agent.kid}
        ),
        scope="tickets:read tickets:write",
    )
    client.trust_env = False
    yield client
    client.close()


def joserfc_verify(portal, token: str) -> dict:
    metadata, http = portal
    keys = KeySet.import_key_set(http.get(metadata["jwks_uri"]).json())
    decoded = jose_jwt.decode(token, keys, algorithms=["ES256", "EdDSA"])
    assert decoded.header["typ"] == "at+jwt"
    jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": metadata["issuer"]},
        aud={"essential": True, "value": CRM},
        exp={"essential": True},
        jti={"essential": True},
    ).validate(decoded.claims)
    return decoded.claims


def test_authlib_gets_a_task_token_that_joserfc_verifies(portal, session, agent):
    metadata, _ = portal
    token = session.fetch_token(
        metadata["token_endpoint"], grant_type="client_credentials", resource=CRM, authorization_details=json.dumps(TASK)
    )
    assert token["token_type"] == "Bearer" and token["scope"] == "tickets:read tickets:write"
    claims = joserfc_verify(portal, token["access_token"])
    assert claims["sub"] == claims["client_id"] == agent.client_id
    assert claims["task_id"] == token["task_id"]
    assert claims["authorization_details"][0]["type"] == "agent_task"


def test_authlib_exchanges_then_revokes(portal, session, agent):
    metadata, _ = portal
    held = session.fetch_token(
        metadata["token_endpoint"], grant_type="client_credentials", resource=CRM, authorization_details=json.dumps(TASK)
    )
    narrow = session.fetch_token(
        metadata["token_endpoint"],
        grant_type="urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token=held["access_token"],
        subject_token_type="urn:ietf:params:oauth:token-type:access_token",
        scope="tickets:read",
    )
    claims = joserfc_verify(portal, narrow["access_token"])
    assert claims["scope"] == "tickets:read" and "act" not in claims  # its own token: no delegation to record

    response = session.revoke_token(metadata["revocation_endpoint"], token=held["access_token"])
    assert response.status_code == 200
    assert not IssuedToken.objects.filter(revoked_at__isnull=True).exists()  # the child went with its parent


def test_authlib_sees_the_portals_errors(portal, session):
    metadata, _ = portal
    # Authlib keeps the refused response's connection out of the pool; without keep-alive the
    # live server's thread (and its database session) ends with the response.
    session.headers["Connection"] = "close"
    with pytest.raises(Exception) as refused:
        session.fetch_token(
            metadata["token_endpoint"], grant_type="client_credentials", resource=CRM,
            scope="customers:export", authorization_details=json.dumps(TASK),
        )
    assert "invalid_scope" in str(refused.value)
