import time
import uuid
from datetime import timedelta

import jwt
import pytest

from inventory.services import identity_offboard
from tokens.models import IssuedToken
from tokens.revocation import token_revoke
from tokens.services import service_create, service_update

from .conftest import ASSERTION_TYPE, CRM, new_private_key, public_jwk

INTROSPECT_URL = "http://testserver/oauth/introspect"


class ServiceClient:
    def __init__(self, service, private_key):
        self.service, self.private_key = service, private_key

    def assertion(self, *, aud=INTROSPECT_URL, **claims):
        now = int(time.time())
        payload = {"iss": self.service.audience, "sub": self.service.audience, "aud": aud, "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex}
        payload.update(claims)
        return jwt.encode(payload, self.private_key, algorithm="ES256")

    def introspect(self, client, token, **assertion_claims):
        return client.post(
            "/oauth/introspect",
            {"token": token, "client_assertion_type": ASSERTION_TYPE, "client_assertion": self.assertion(**assertion_claims)},
        )


@pytest.fixture
def crm_server(crm, sam):
    key = new_private_key()
    service = service_update(actor=sam, service=crm, introspection_jwk=public_jwk(key))
    return ServiceClient(service, key)


def test_it_gives_the_claims_of_a_live_token(agent, get_token, oauth, crm_server):
    token = get_token(agent)["access_token"]

    response = crm_server.introspect(oauth, token)

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["active"] is True
    assert body["sub"] == agent.client_id and body["aud"] == CRM and body["scope"] == "tickets:read"
    assert body["token_type"] == "Bearer" and "task_id" in body and "exp" in body


def test_a_revoked_token_is_inactive(agent, get_token, oauth, crm_server, alice):
    token = get_token(agent)["access_token"]
    token_revoke(token=IssuedToken.objects.get(), actor=alice)
    assert crm_server.introspect(oauth, token).json() == {"active": False}


def test_an_expired_token_is_inactive(agent, get_token, oauth, crm_server):
    token = get_token(agent)["access_token"]
    row = IssuedToken.objects.get()
    IssuedToken.objects.filter(pk=row.pk).update(expires_at=row.issued_at - timedelta(seconds=1))
    assert crm_server.introspect(oauth, token).json() == {"active": False}


def test_an_unknown_token_is_inactive(oauth, crm_server, agent):
    for token in ("garbage", agent.assertion()):
        assert crm_server.introspect(oauth, token).json() == {"active": False}


def test_a_token_deleted_from_the_ledger_is_inactive(agent, get_token, oauth, crm_server):
    token = get_token(agent)["access_token"]
    IssuedToken.objects.all().delete()
    assert crm_server.introspect(oauth, token).json() == {"active": False}


def test_a_token_forged_under_a_live_tokens_jti_with_another_portal_key_is_inactive(agent, get_token, oauth, crm_server, sam):
    # A key reported compromised still verifies in processes that have not yet re-read the keys;
    # the ledger knows which key signed each token, so the forgery is not the live token it copies.
    from tokens.access_tokens import sign_access_token
    from tokens.keys import Signer, _decrypt, signing_keys_rotate
    from tokens.models import KeyState, SigningKey

    signing_keys_rotate(actor=sam)  # an active key, and a published next key
    token = get_token(agent)["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    other = SigningKey.objects.get(state=KeyState.NEXT)
    forged = sign_access_token({**claims, "scope": "tickets:read tickets:write"}, Signer(other.kid, other.alg, _decrypt(other)))

    assert crm_server.introspect(oauth, forged).json() == {"active": False}
    assert crm_server.introspect(oauth, token).json()["active"] is True


def test_a_foreign_token_is_inactive(agent, get_token, oauth, crm_server, sam):
    token = get_token(agent)["access_token"]
    wiki_key = new_private_key()
    wiki = service_create(
        actor=sam, name="Wiki", audience="https://wiki.example.com", owner=sam, scopes=["read"], introspection_jwk=public_jwk(wiki_key)
    )
    assert ServiceClient(wiki, wiki_key).introspect(oauth, token).json() == {"active": False}


def test_an_offboarded_identitys_tokens_are_inactive(agent, get_token, oauth, crm_server, alice):
    token = get_token(agent)["access_token"]
    identity_offboard(actor=alice, identity=agent.identity, reason="Retired")
    assert crm_server.introspect(oauth, token).json() == {"active": False}


def test_it_is_only_for_registered_services(agent, get_token, oauth, crm_server):
    token = get_token(agent)["access_token"]
    impostor = ServiceClient(crm_server.service, new_private_key())
    assert impostor.introspect(oauth, token).status_code == 401
    no_auth = oauth.post("/oauth/introspect", {"token": token})
    assert no_auth.status_code == 401 and no_auth.json()["error"] == "invalid_client"
    # An agent's own assertion does not open introspection either.
    as_agent = oauth.post(
        "/oauth/introspect",
        {"token": token, "client_assertion_type": ASSERTION_TYPE, "client_assertion": agent.assertion(aud=INTROSPECT_URL)},
    )
    assert as_agent.status_code == 401


def test_a_service_without_an_introspection_key_cannot_introspect(agent, get_token, oauth, crm):
    token = get_token(agent)["access_token"]
    assert ServiceClient(crm, new_private_key()).introspect(oauth, token).status_code == 401


def test_a_service_assertion_serves_until_it_expires(agent, get_token, oauth, crm_server):
    token = get_token(agent)["access_token"]
    assertion = crm_server.assertion()
    data = {"token": token, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    assert oauth.post("/oauth/introspect", data).json()["active"] is True
    assert oauth.post("/oauth/introspect", data).json()["active"] is True
    now = int(time.time())
    expired = {**data, "client_assertion": crm_server.assertion(iat=now - 400, exp=now - 60)}
    assert oauth.post("/oauth/introspect", expired).status_code == 401
    too_long = {**data, "client_assertion": crm_server.assertion(exp=now + 3600)}
    assert oauth.post("/oauth/introspect", too_long).status_code == 401


def test_a_changed_service_key_stops_old_assertions(agent, get_token, oauth, crm_server, sam):
    token = get_token(agent)["access_token"]
    data = {"token": token, "client_assertion_type": ASSERTION_TYPE, "client_assertion": crm_server.assertion()}
    assert oauth.post("/oauth/introspect", data).status_code == 200
    service_update(actor=sam, service=crm_server.service, introspection_jwk=public_jwk(new_private_key()))
    assert oauth.post("/oauth/introspect", data).status_code == 401


def test_it_needs_a_token(oauth, crm_server):
    response = oauth.post("/oauth/introspect", {"client_assertion_type": ASSERTION_TYPE, "client_assertion": crm_server.assertion()})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_it_only_takes_post(oauth):
    assert oauth.get("/oauth/introspect").status_code == 405
