"""Requests no honest client sends, answered with an RFC 6749 error (or a 401 at a resource
server), never a 500: JSON nested past the decoder's limit, NumericDates that are NaN or
beyond any calendar, another spelling of the client_id. Anyone can send the first before any
signature is checked."""

import base64
import time

import jwt
import pytest
from django.http import JsonResponse
from django.test import Client, RequestFactory

from tokens.oauth import client_auth
from tokens.verifier import TokenVerifier, require_token

from .conftest import ASSERTION_TYPE, CRM, token_request
from .test_introspection import crm_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def deeply_nested_jwt(typ: str = "JWT", depth: int = 1500) -> str:
    header = _b64(('{"alg":"ES256","typ":"%s"}' % typ).encode())
    payload = _b64(b'{"a":' + b"[" * depth + b"]" * depth + b"}")
    return f"{header}.{payload}.{_b64(b'x' * 64)}"


@pytest.mark.parametrize("endpoint, status", [("/oauth/token", 401), ("/oauth/introspect", 401), ("/oauth/revoke", 401)])
def test_a_deeply_nested_assertion_is_invalid_client(endpoint, status):
    response = Client(raise_request_exception=False).post(endpoint, {
        "grant_type": "client_credentials", "token": "x", "client_assertion_type": ASSERTION_TYPE, "client_assertion": deeply_nested_jwt(),
    })
    assert response.status_code == status and response.json()["error"] == "invalid_client"


def test_deeply_nested_authorization_details_are_invalid_authorization_details(agent, crm, grant):
    grant(agent, crm, ["tickets:read"])
    response = token_request(Client(raise_request_exception=False), agent, authorization_details="[" * 1500 + "]" * 1500)
    assert response.status_code == 400 and response.json()["error"] == "invalid_authorization_details"


def test_a_resource_server_answers_a_deeply_nested_bearer_token_with_401():
    verifier = TokenVerifier(issuer="http://testserver", audience=CRM, http_get=lambda url: b'{"keys": []}')

    @require_token(verifier, "tickets:read")
    def view(request):
        return JsonResponse({"ok": True})

    request = RequestFactory().get("/api/tickets", HTTP_AUTHORIZATION="Bearer " + deeply_nested_jwt(typ="at+jwt"))
    assert view(request).status_code == 401


def test_the_api_answers_a_deeply_nested_body_with_400(client_for, alice):
    response = client_for(alice).post("/api/v1/identities/", "[" * 5000 + "]" * 5000, content_type="application/json")
    assert response.status_code == 400 and "nested too deeply" in response.json()["detail"]


@pytest.mark.parametrize("exp", [float("nan"), float("inf"), 10**400, 1e300], ids=["NaN", "Infinity", "10**400", "1e300"])
def test_an_assertion_whose_exp_is_no_date_is_invalid_client(agent, crm, grant, exp):
    grant(agent, crm, ["tickets:read"])
    response = token_request(Client(raise_request_exception=False), agent, assertion=agent.assertion(exp=exp))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_a_service_assertion_with_a_nan_exp_is_refused_not_valid_for_ever(agent, get_token, oauth, crm_server, monkeypatch):  # noqa: F811
    data = {"token": get_token(agent)["access_token"], "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": crm_server.assertion(exp=float("nan"))}
    assert oauth.post("/oauth/introspect", data).status_code == 401
    real = time.time
    monkeypatch.setattr(client_auth.time, "time", lambda: real() + 365 * 24 * 3600)  # a year on
    assert oauth.post("/oauth/introspect", data).status_code == 401


@pytest.mark.parametrize("spell", [str.upper, lambda s: "{" + s + "}", lambda s: "urn:uuid:" + s, lambda s: s.replace("-", "")],
                         ids=["upper case", "braces", "urn", "no hyphens"])
def test_another_spelling_of_the_client_id_is_refused(agent, crm, grant, oauth, spell):
    grant(agent, crm, ["tickets:read"])
    other = spell(agent.client_id)
    response = token_request(oauth, agent, assertion=agent.assertion(iss=other, sub=other))
    assert response.status_code == 401 and "lower case, with hyphens" in response.json()["error_description"]
    ok = token_request(oauth, agent)
    assert jwt.decode(ok.json()["access_token"], options={"verify_signature": False})["sub"] == agent.client_id


def unsigned_jwt(header: str, payload: str) -> str:
    """Raw JSON segments, as no JSON library writes them."""
    return f"{_b64(header.encode())}.{_b64(payload.encode())}.{_b64(b'x' * 64)}"


LONE = "\\ud800"  # an escaped surrogate with no pair: decodes to no character


@pytest.mark.parametrize(
    "header, payload",
    [
        ('{"alg":"ES256","kid":"k%s"}' % LONE, '{"iss":"%(id)s","sub":"%(id)s","exp":9999999999,"jti":"abcdefghij"}'),
        ('{"alg":"ES256"}', '{"iss":"x","sub":"spiffe://example.org/%s","exp":9999999999}' % LONE),
        ('{"alg":"ES256"}', '{"iss":"https://x%s","sub":"repo","exp":9999999999}' % LONE),
        ('{"alg":["ES256"]}', '{"iss":"%(id)s","sub":"%(id)s","exp":9999999999,"jti":"abcdefghij"}'),
    ],
    ids=["kid", "SPIFFE ID", "federated issuer", "alg not a string"],
)
@pytest.mark.parametrize("endpoint", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
def test_an_assertion_no_json_reader_can_encode_is_invalid_client(agent, endpoint, header, payload):
    assertion = unsigned_jwt(header, payload % {"id": agent.client_id} if "%(id)s" in payload else payload)
    response = Client(raise_request_exception=False).post(endpoint, {
        "grant_type": "client_credentials", "token": "x", "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion,
    })
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_a_signed_assertion_whose_jti_holds_a_lone_surrogate_is_invalid_client(agent, crm, grant):
    grant(agent, crm, ["tickets:read"])
    response = token_request(Client(raise_request_exception=False), agent, assertion=agent.assertion(jti="abcdefgh\ud800"))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_a_token_to_introspect_or_revoke_with_a_lone_surrogate_is_simply_not_live(agent, oauth, crm_server):  # noqa: F811
    token = unsigned_jwt('{"alg":"ES256","typ":"at+jwt","kid":"k%s"}' % LONE, '{"jti":"x"}')
    assert crm_server.introspect(oauth, token).json() == {"active": False}
    assert oauth.post("/oauth/revoke", {"token": token, **agent.auth()}).status_code == 200


def test_authorization_details_with_a_lone_surrogate_are_invalid_authorization_details(agent, crm, grant):
    grant(agent, crm, ["tickets:read"])
    details = '[{"type":"agent_task","intent":"Summarise %s","actions":["read"],"sensitivity":"internal"}]' % LONE
    response = token_request(Client(raise_request_exception=False), agent, authorization_details=details)
    assert response.status_code == 400 and response.json()["error"] == "invalid_authorization_details"
    assert "unpaired surrogate" in response.json()["error_description"]  # what is wrong, not just what is wanted


def test_authorization_details_that_are_not_json_say_where_they_break(agent, crm, grant):
    grant(agent, crm, ["tickets:read"])
    response = token_request(Client(), agent, authorization_details='[{"type":"agent_task" "intent":"x"}]')
    assert response.status_code == 400 and response.json() == {
        "error": "invalid_authorization_details",
        "error_description": "authorization_details is a JSON array of objects; this is not valid JSON: "
                             "Expecting ',' delimiter: line 1 column 23 (char 22)",
    }


@pytest.mark.parametrize(
    "header",
    [
        '{"typ":"dpop+jwt","alg":["ES256"],"jwk":{"kty":"EC"}}',
        '{"typ":"dpop+jwt","alg":{"ES256":1},"jwk":{"kty":"EC"}}',
        '{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":["EC"]}}',
        '{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","x":' + "[" * 900 + "]" * 900 + "}}",
    ],
    ids=["alg a list", "alg an object", "kty a list", "jwk nested deep"],
)
def test_a_dpop_proof_of_the_wrong_shapes_is_invalid_dpop_proof(header):
    proof = unsigned_jwt(header, '{"htm":"POST"}')
    response = Client(raise_request_exception=False).post("/oauth/token", {"grant_type": "client_credentials"}, HTTP_DPOP=proof)
    assert response.status_code == 400 and response.json()["error"] == "invalid_dpop_proof"


def test_the_api_answers_a_body_with_a_lone_surrogate_with_400(client_for, alice):
    body = '{"name": "agent %s", "purpose": "x"}' % LONE
    response = client_for(alice).post("/api/v1/identities/", body, content_type="application/json")
    assert response.status_code == 400 and "unpaired surrogate" in response.json()["detail"]
