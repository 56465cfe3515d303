"""Token status lists (draft-ietf-oauth-status-list): revocation that offline verifiers see."""

import base64
import json
import time
import zlib

import jwt
import pytest

from tokens.access_tokens import sign_access_token
from tokens.keys import active_signer
from tokens.models import IssuedToken
from tokens.revocation import token_revoke
from tokens.status_list import LIST_SIZE, encoded, reference
from tokens.verifier import InvalidToken, TokenVerifier

from .conftest import CRM, new_private_key

LIST_0 = "http://testserver/oauth/status/0"


def statuses(lst: str) -> bytes:
    return zlib.decompress(base64.urlsafe_b64decode(lst + "=="))


def revoked_bit(raw: bytes, index: int) -> int:
    return (raw[index >> 3] >> (index & 7)) & 1


def fetch_list(oauth, number=0):
    """The list as a resource server gets it, checked against the published JWKS."""
    response = oauth.get(f"/oauth/status/{number}")
    assert response.status_code == 200
    jwks = oauth.get("/oauth/jwks.json").json()
    header = jwt.get_unverified_header(response.content)
    key = next(jwt.PyJWK(k) for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(response.content, key.key, algorithms=[key.algorithm_name], options={"require": ["iat", "exp", "sub"]})
    return response, header, claims


@pytest.fixture
def fetches(oauth):
    def http_get(url):
        return oauth.get(url.removeprefix("http://testserver")).content

    return http_get


def test_each_token_names_its_place_in_a_status_list(agent, get_token):
    first, second = (get_token(agent)["access_token"] for _ in range(2))
    for token in (first, second):
        row = IssuedToken.objects.get(jti=jwt.decode(token, options={"verify_signature": False})["jti"])
        status = jwt.decode(token, options={"verify_signature": False})["status"]
        assert status == {"status_list": {"idx": row.pk % LIST_SIZE, "uri": LIST_0}}


def test_an_exchanged_token_has_its_own_place(agent, get_token, oauth):
    held = get_token(agent, scope="tickets:read tickets:write")["access_token"]
    response = oauth.post("/oauth/token", {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token": held,
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token", "scope": "tickets:read",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": agent.assertion(),
    })
    assert response.status_code == 200, response.content
    narrowed = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    row = IssuedToken.objects.get(jti=narrowed["jti"])
    assert row.parent is not None and narrowed["status"]["status_list"]["idx"] == row.pk % LIST_SIZE


def test_ids_past_one_list_go_on_in_the_next():
    assert reference(LIST_SIZE + 5) == {"status_list": {"idx": 5, "uri": "http://testserver/oauth/status/1"}}
    assert reference(LIST_SIZE - 1)["status_list"] == {"idx": LIST_SIZE - 1, "uri": LIST_0}


def test_the_bits_are_packed_as_the_draft_shows():
    # The draft's example (section 4.1): statuses 1,0,0,1,1,1,0,1, 1,1,0,0,0,1,0,1 are the bytes B9 A3.
    assert statuses(encoded([0, 3, 4, 5, 7, 8, 9, 13, 15], 16)) == bytes([0xB9, 0xA3])


def test_the_list_marks_the_revoked_tokens_and_only_them(agent, get_token, oauth, alice):
    tokens = [get_token(agent)["access_token"] for _ in range(3)]
    rows = [IssuedToken.objects.get(jti=jwt.decode(t, options={"verify_signature": False})["jti"]) for t in tokens]
    token_revoke(token=rows[1], actor=alice)
    response, header, claims = fetch_list(oauth)
    assert response["Content-Type"] == "application/statuslist+jwt"
    assert response["Cache-Control"] == "public, max-age=30"
    assert header["typ"] == "statuslist+jwt"
    assert claims["sub"] == LIST_0 and claims["iss"] == "http://testserver" and claims["ttl"] == 30
    assert claims["exp"] > claims["iat"]
    assert claims["status_list"]["bits"] == 1
    raw = statuses(claims["status_list"]["lst"])
    assert len(raw) == LIST_SIZE // 8
    assert [revoked_bit(raw, row.pk) for row in rows] == [0, 1, 0]
    assert sum(raw) == 1 << (rows[1].pk & 7)  # nothing else is set


def test_the_list_says_which_numbers_were_revoked_and_nothing_about_whose(agent, get_token, oauth, alice):
    token_revoke(token=IssuedToken.objects.get(jti=jwt.decode(get_token(agent)["access_token"], options={"verify_signature": False})["jti"]), actor=alice)
    _response, _header, claims = fetch_list(oauth)
    assert set(claims) == {"iss", "sub", "iat", "exp", "ttl", "status_list"}
    assert agent.client_id not in json.dumps(claims)


def test_a_list_no_token_was_numbered_in_is_not_found(agent, get_token, oauth):
    get_token(agent)
    assert oauth.get("/oauth/status/1").status_code == 404
    assert oauth.get("/oauth/status/1").json()["error"] == "not_found"
    assert oauth.get("/oauth/status/x").status_code == 404
    assert oauth.post("/oauth/status/0").status_code == 405


def test_the_aggregation_names_the_lists_of_live_tokens_and_discovery_names_it(agent, get_token, oauth):
    assert oauth.get("/oauth/status").json() == {"status_lists": []}
    get_token(agent)
    assert oauth.get("/oauth/status").json() == {"status_lists": [LIST_0]}
    metadata = oauth.get("/.well-known/oauth-authorization-server").json()
    assert metadata["status_list_aggregation_endpoint"] == "http://testserver/oauth/status"


def test_an_offline_verifier_refuses_a_revoked_token_once_its_list_is_fetched_again(agent, get_token, fetches, alice):
    now = [time.time()]
    verifier = TokenVerifier(issuer="http://testserver", audience=CRM, http_get=fetches, clock=lambda: now[0])
    token = get_token(agent)["access_token"]
    assert verifier.verify(token)["sub"] == agent.client_id
    token_revoke(token=IssuedToken.objects.get(), actor=alice)
    verifier.verify(token)  # its copy of the list is fresh for the list's ttl
    now[0] += 31
    with pytest.raises(InvalidToken, match="revoked"):
        verifier.verify(token)


def test_a_verifier_keeps_its_last_list_while_the_portal_is_down_then_fails_closed(agent, get_token, fetches):
    now, down = [time.time()], [False]

    def http_get(url):
        if down[0] and "/oauth/status/" in url:
            raise OSError("connection refused")
        return fetches(url)

    verifier = TokenVerifier(issuer="http://testserver", audience=CRM, http_get=http_get, clock=lambda: now[0])
    token = get_token(agent)["access_token"]
    verifier.verify(token)
    down[0] = True
    now[0] += 60
    verifier.verify(token)  # stale, but within the list's own exp
    now[0] += 300
    with pytest.raises(InvalidToken, match="cannot be checked"):
        verifier.verify(token)


def test_a_verifier_fetches_only_the_issuers_lists_and_only_lists_it_signed(agent, fetches):
    signer = active_signer()
    base = {"iss": "http://testserver", "sub": agent.client_id, "aud": CRM, "client_id": agent.client_id,
            "iat": int(time.time()), "exp": int(time.time()) + 300, "jti": "j1"}
    elsewhere = sign_access_token({**base, "status": {"status_list": {"idx": 1, "uri": "https://evil.example.com/list"}}}, signer)
    verifier = TokenVerifier(issuer="http://testserver", audience=CRM, http_get=fetches)
    with pytest.raises(InvalidToken, match="not the issuer's"):
        verifier.verify(elsewhere)
    malformed = sign_access_token({**base, "jti": "j2", "status": {"status_list": {"idx": "1", "uri": LIST_0}}}, signer)
    with pytest.raises(InvalidToken, match="malformed"):
        verifier.verify(malformed)

    forger = new_private_key()
    forged_list = jwt.encode(
        {"sub": LIST_0, "iat": int(time.time()), "status_list": {"bits": 1, "lst": encoded([], 8)}},
        forger, algorithm="ES256", headers={"kid": signer.kid, "typ": "statuslist+jwt"},
    )
    named = sign_access_token({**base, "jti": "j3", "status": {"status_list": {"idx": 0, "uri": LIST_0}}}, signer)
    forged = TokenVerifier(issuer="http://testserver", audience=CRM,
                           http_get=lambda url: forged_list.encode() if "/status/" in url else fetches(url))
    with pytest.raises(InvalidToken, match="cannot be checked"):
        forged.verify(named)


def test_a_verifier_can_leave_status_to_introspection_or_to_expiry(agent, get_token, fetches, alice):
    verifier = TokenVerifier(issuer="http://testserver", audience=CRM, http_get=fetches, check_status=False)
    token = get_token(agent)["access_token"]
    token_revoke(token=IssuedToken.objects.get(), actor=alice)
    assert verifier.verify(token)["sub"] == agent.client_id
