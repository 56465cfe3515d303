"""JWT best current practice (RFC 8725): each attack is refused with the right error, and no token is written."""

import base64
import hashlib
import hmac
import json
import socket
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import ECAlgorithm

from tokens.models import IssuedToken, WorkloadCredential

from .conftest import ASSERTION_TYPE, TOKEN_URL, new_private_key, token_request


@pytest.fixture
def granted(agent, crm, grant):
    grant(agent, crm, ["tickets:read", "tickets:write"])
    return agent


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def refused(response, error="invalid_client", status=401):
    assert response.status_code == status, response.content
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    assert not IssuedToken.objects.exists()
    return response.json()["error_description"]


def test_alg_none_is_refused(granted, oauth):
    now = int(time.time())
    claims = {"iss": granted.client_id, "sub": granted.client_id, "aud": TOKEN_URL, "exp": now + 60, "jti": "none-attack-1"}
    unsigned = f"{b64({'alg': 'none', 'kid': granted.kid})}.{b64(claims)}."
    refused(token_request(oauth, granted, assertion=unsigned))


def test_hs256_signed_with_the_public_key_is_refused(granted, oauth):
    public_pem = granted.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    claims = {"iss": granted.client_id, "sub": granted.client_id, "aud": TOKEN_URL, "exp": now + 60, "jti": "hs256-attack-1"}
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': granted.kid})}.{b64(claims)}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    refused(token_request(oauth, granted, assertion=f"{signing_input}.{b64(signature)}"))


def test_an_unknown_kid_is_refused(granted, oauth):
    refused(token_request(oauth, granted, assertion=granted.assertion(headers={"kid": "no-such-key"})))


def test_an_injected_kid_is_refused(granted, oauth):
    for kid in ("../../etc/passwd", "' OR '1'='1", "x" * 5000):
        refused(token_request(oauth, granted, assertion=granted.assertion(headers={"kid": kid})))


def test_another_identitys_key_is_refused(granted, make_agent, oauth):
    other = make_agent()
    forged = granted.assertion(headers={"kid": other.kid}, key=other.private_key)
    refused(token_request(oauth, granted, assertion=forged))


def test_a_key_embedded_in_the_header_is_not_trusted(granted, oauth):
    attacker = new_private_key()
    embedded = ECAlgorithm.to_jwk(attacker.public_key(), as_dict=True)
    forged = granted.assertion(headers={"jwk": embedded}, key=attacker)
    refused(token_request(oauth, granted, assertion=forged))


def test_jku_and_x5u_headers_are_ignored_and_never_fetched(granted, oauth, monkeypatch):
    attempts = []
    real_connect = socket.socket.connect

    def spy(sock, address):
        attempts.append(address)
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    attacker = new_private_key()
    for header in ({"jku": "https://attacker.example/jwks.json"}, {"x5u": "https://attacker.example/cert.pem"}):
        forged = granted.assertion(headers=header, key=attacker)
        refused(token_request(oauth, granted, assertion=forged))
    assert attempts == []
    # The same headers on a properly signed assertion change nothing: the registered key decides.
    ok = granted.assertion(headers={"jku": "https://attacker.example/jwks.json", "x5u": "https://attacker.example/c"})
    assert token_request(oauth, granted, assertion=ok).status_code == 200
    assert attempts == []


@pytest.mark.parametrize("claim", ["iss", "sub"])
def test_a_wrong_issuer_or_subject_is_refused(granted, make_agent, oauth, claim):
    other = make_agent()
    refused(token_request(oauth, granted, assertion=granted.assertion(**{claim: other.client_id})))


@pytest.mark.parametrize("aud", ["https://crm.example.com", "http://testserver/oauth/introspect-not", None])
def test_a_wrong_or_missing_audience_is_refused(granted, oauth, aud):
    refused(token_request(oauth, granted, assertion=granted.assertion(aud=aud)))


def test_the_issuer_is_an_accepted_audience(granted, oauth):
    assert token_request(oauth, granted, assertion=granted.assertion(aud="http://testserver")).status_code == 200


def test_an_assertion_addressed_to_other_parties_too_is_refused(granted, oauth):
    # Any of the other parties could replay it here (draft-ietf-oauth-rfc7523bis).
    shared = granted.assertion(aud=["https://elsewhere.example.com", "http://testserver/oauth/token"])
    assert "alone" in refused(token_request(oauth, granted, assertion=shared))
    assert token_request(oauth, granted, assertion=granted.assertion(aud=["http://testserver/oauth/token"])).status_code == 200


def test_an_expired_assertion_is_refused(granted, oauth):
    now = int(time.time())
    description = refused(token_request(oauth, granted, assertion=granted.assertion(iat=now - 600, exp=now - 120)))
    assert "expired" in description


def test_an_assertion_without_exp_is_refused(granted, oauth):
    refused(token_request(oauth, granted, assertion=granted.assertion(exp=None)))


def test_an_assertion_valid_too_long_is_refused(granted, oauth):
    refused(token_request(oauth, granted, assertion=granted.assertion(lifetime=3600)))


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_iat_or_nbf_in_the_future_beyond_the_leeway_is_refused(granted, oauth, claim):
    description = refused(token_request(oauth, granted, assertion=granted.assertion(**{claim: int(time.time()) + 120})))
    assert "not valid yet" in description


def test_a_small_clock_skew_is_tolerated(granted, oauth):
    assertion = granted.assertion(iat=int(time.time()) + 10)
    assert token_request(oauth, granted, assertion=assertion).status_code == 200


def test_an_access_token_presented_as_a_client_assertion_is_refused(granted, oauth, get_token):
    access_token = get_token(granted)["access_token"]
    IssuedToken.objects.all().delete()
    description = refused(token_request(oauth, granted, assertion=access_token))
    assert "typ" in description


def test_a_client_assertion_presented_as_an_access_token_is_refused(granted, oauth, get_token):
    held = get_token(granted)["access_token"]
    before = IssuedToken.objects.count()
    assertion_as_token = granted.assertion()
    response = oauth.post(
        "/oauth/token",
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": assertion_as_token,
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": granted.assertion(),
        },
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert IssuedToken.objects.count() == before
    assert held  # the real token was never the problem


def test_a_replayed_assertion_jti_is_refused(granted, oauth):
    assertion = granted.assertion()
    assert token_request(oauth, granted, assertion=assertion).status_code == 200
    IssuedToken.objects.all().delete()
    description = refused(token_request(oauth, granted, assertion=assertion))
    assert "already used" in description
    # A fresh assertion carrying the same jti is a replay too.
    jti = jwt.decode(assertion, options={"verify_signature": False})["jti"]
    refused(token_request(oauth, granted, assertion=granted.assertion(jti=jti)))


def test_an_assertion_without_jti_is_refused(granted, oauth):
    refused(token_request(oauth, granted, assertion=granted.assertion(jti=None)))


def test_an_exchange_asking_for_more_than_the_subject_token_had_is_refused(granted, oauth, get_token):
    held = get_token(granted, scope="tickets:read")["access_token"]
    before = IssuedToken.objects.count()
    response = oauth.post(
        "/oauth/token",
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": held,
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "scope": "tickets:read tickets:write",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": granted.assertion(),
        },
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"
    assert IssuedToken.objects.count() == before


def test_a_tampered_payload_is_refused(granted, oauth):
    header, payload, signature = granted.assertion().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["exp"] += 100
    refused(token_request(oauth, granted, assertion=f"{header}.{b64(claims)}.{signature}"))


def test_garbage_is_refused(granted, oauth):
    for junk in ("", "abc", "a.b.c", "e30.e30.e30"):
        response = oauth.post("/oauth/token", {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE, "client_assertion": junk})
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert not IssuedToken.objects.exists()


def test_a_registered_kid_with_a_signature_that_does_not_verify_sounds_like_an_unknown_kid(granted, oauth):
    # Whoever can tell the two apart learns which key ids (and client ids) exist, signing nothing.
    unknown_kid = refused(token_request(oauth, granted, assertion=granted.assertion(headers={"kid": "no-such-key"})))
    forged = refused(token_request(oauth, granted, assertion=granted.assertion(key=new_private_key())))
    wrong_alg = refused(token_request(oauth, granted, assertion=granted.assertion(key=new_private_key("RS256"), alg="RS256")))
    no_kid = refused(token_request(oauth, granted, assertion=granted.assertion(headers={"kid": None}, key=new_private_key())))
    assert forged == wrong_alg == no_kid == unknown_kid == "Unknown client or key."
    # The owners read the reason on the identity page.
    credential = WorkloadCredential.objects.get(identity=granted.identity)
    assert credential.refusal == "The client assertion's signature does not verify."
    WorkloadCredential.objects.filter(pk=credential.pk).update(refused_at=None)
    refused(token_request(oauth, granted, assertion=granted.assertion(key=new_private_key("RS256"), alg="RS256")))
    assert WorkloadCredential.objects.get(pk=credential.pk).refusal == "The client assertion's algorithm does not match the registered key."


def test_an_rsa_key_registered_without_alg_is_used_with_rs256_only_and_tells_the_owners_why(make_agent, oauth, crm, grant):
    # RFC 8725 section 3.1: one algorithm per key. The key is never tried under PS256, so the
    # caller hears what it hears for an unknown key; the owners read what to do.
    agent = make_agent(alg="RS256")
    grant(agent, crm, ["tickets:read"])
    credential = WorkloadCredential.objects.get(identity=agent.identity)
    assert "alg" not in credential.public_jwk
    assert refused(token_request(oauth, agent, assertion=agent.assertion(alg="PS256"))) == "Unknown client or key."
    refusal = WorkloadCredential.objects.get(pk=credential.pk).refusal
    assert "used with RS256 only" in refusal and 'register a new key whose JWK says "alg": "PS256"' in refusal
    assert token_request(oauth, agent).status_code == 200


def test_an_rsa_key_registered_for_ps256_refuses_rs256(make_agent, oauth, crm, grant):
    agent = make_agent(alg="PS256")
    grant(agent, crm, ["tickets:read"])
    assert WorkloadCredential.objects.get(identity=agent.identity).public_jwk["alg"] == "PS256"
    assert refused(token_request(oauth, agent, assertion=agent.assertion(alg="RS256"))) == "Unknown client or key."
    assert "used with PS256 only" in WorkloadCredential.objects.get(identity=agent.identity).refusal
    assert token_request(oauth, agent).status_code == 200
