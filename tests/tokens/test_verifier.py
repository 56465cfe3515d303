"""The resource-server verifier, against the portal's real JWKS and introspection endpoints."""

import json
import time

import jwt
import pytest
from django.http import JsonResponse
from django.test import RequestFactory
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from tokens.access_tokens import sign_access_token
from tokens.keys import active_signer, signing_keys_rotate
from tokens.models import IssuedToken
from tokens.revocation import token_revoke
from tokens.services import service_update
from tokens.verifier import (
    AccessTokenAuthentication,
    HasScopes,
    InsufficientScope,
    Introspector,
    InvalidToken,
    TokenVerifier,
    require_token,
)

from .conftest import CRM, new_private_key, public_jwk, token_request


@pytest.fixture
def fetches(oauth):
    calls = []

    def http_get(url):
        calls.append(url)
        return oauth.get(url.removeprefix("http://testserver")).content

    http_get.calls = calls
    http_get.jwks = lambda: [url for url in calls if url.endswith("/jwks.json")]
    return http_get


@pytest.fixture
def verifier(fetches):
    return TokenVerifier(issuer="http://testserver", audience=CRM, http_get=fetches)


def test_it_verifies_a_portal_token_through_the_published_jwks(agent, get_token, verifier, fetches):
    token = get_token(agent, scope="tickets:read tickets:write")["access_token"]
    claims = verifier.verify(token, scopes=["tickets:read"])
    assert claims["sub"] == agent.client_id and claims["task_id"]
    # The keys, and the status list the token names (is it revoked?), once each.
    assert fetches.calls == ["http://testserver/oauth/jwks.json", "http://testserver/oauth/status/0"]
    verifier.verify(token)
    assert len(fetches.calls) == 2


def test_it_checks_the_scopes(agent, get_token, verifier):
    token = get_token(agent, scope="tickets:read")["access_token"]
    with pytest.raises(InsufficientScope):
        verifier.verify(token, scopes=["tickets:write"])


def test_it_refuses_another_audience_or_issuer(agent, get_token, fetches):
    token = get_token(agent)["access_token"]
    with pytest.raises(InvalidToken):
        TokenVerifier(issuer="http://testserver", audience="https://wiki.example.com", http_get=fetches).verify(token)
    with pytest.raises(InvalidToken):
        TokenVerifier(issuer="https://evil.example.com", audience=CRM, http_get=fetches, jwks_url="http://testserver/oauth/jwks.json").verify(token)


def test_it_refuses_an_expired_token_with_a_small_leeway(agent, get_token, fetches):
    token = get_token(agent, ttl="60")["access_token"]
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    now = [time.time()]
    verifier = TokenVerifier(issuer="http://testserver", audience=CRM, http_get=fetches, clock=lambda: now[0], leeway=30)
    verifier.verify(token)
    now[0] = exp + 29
    verifier.verify(token)  # within the leeway
    now[0] = exp + 31
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token)


def test_it_refuses_tokens_not_yet_valid(agent, verifier, fetches, get_token):
    get_token(agent)  # makes the portal's first key
    now = int(time.time())
    claims = {"iss": "http://testserver", "sub": "x", "aud": CRM, "iat": now, "nbf": now + 120, "exp": now + 300, "jti": "j", "client_id": "x"}
    with pytest.raises(InvalidToken, match="nbf"):
        verifier.verify(sign_access_token(claims, active_signer()))


def test_it_refuses_a_client_assertion_or_alg_none(agent, verifier, get_token):
    get_token(agent)
    with pytest.raises(InvalidToken, match="typ"):
        verifier.verify(agent.assertion(aud=CRM))
    header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"at+jwt","kid":"x"}').decode()
    payload = jwt.utils.base64url_encode(b'{"iss":"http://testserver","aud":"https://crm.example.com"}').decode()
    with pytest.raises(InvalidToken):
        verifier.verify(f"{header}.{payload}.")


def test_it_refetches_on_an_unknown_kid_but_rate_limits_it(agent, get_token, fetches, sam):
    now = [time.time()]
    verifier = TokenVerifier(issuer="http://testserver", audience=CRM, http_get=fetches, clock=lambda: now[0], min_refetch_interval=30)
    verifier.verify(get_token(agent)["access_token"])
    # The first rotation promotes the key published beside the first one; the second, the key
    # published with the first rotation, after this verifier fetched the JWKS.
    signing_keys_rotate(actor=sam)
    signing_keys_rotate(actor=sam)
    fresh = get_token(agent)["access_token"]
    with pytest.raises(InvalidToken, match="unknown"):
        verifier.verify(fresh)  # the JWKS was fetched a moment ago: no second fetch yet
    assert len(fetches.jwks()) == 1
    now[0] += 31
    assert verifier.verify(fresh)["sub"] == agent.client_id
    assert len(fetches.jwks()) == 2
    for _ in range(5):
        with pytest.raises(InvalidToken):
            verifier.verify(fresh.replace(fresh.split(".")[0], jwt.utils.base64url_encode(b'{"alg":"ES256","typ":"at+jwt","kid":"forged"}').decode()))
    assert len(fetches.jwks()) == 2


def test_the_portal_publishes_the_next_key_so_a_rotation_needs_no_refetch(agent, get_token, fetches, sam):
    signing_keys_rotate(actor=sam)  # now an active key and a published next key
    verifier = TokenVerifier(issuer="http://testserver", audience=CRM, http_get=fetches)
    verifier.verify(get_token(agent)["access_token"])
    signing_keys_rotate(actor=sam)
    verifier.verify(get_token(agent)["access_token"])
    assert len(fetches.jwks()) == 1


def test_the_view_decorator_answers_401_and_403(agent, get_token, verifier):
    token = get_token(agent, scope="tickets:read")["access_token"]

    @require_token(verifier, "tickets:read")
    def read(request):
        return JsonResponse({"agent": request.token_claims["sub"]})

    @require_token(verifier, "tickets:write")
    def write(request):
        return JsonResponse({})

    factory = RequestFactory()
    assert read(factory.get("/")).status_code == 401
    assert read(factory.get("/"))["WWW-Authenticate"] == 'Bearer realm="api"'
    bad = read(factory.get("/", HTTP_AUTHORIZATION="Bearer a.b.c"))
    assert bad.status_code == 401 and 'error="invalid_token"' in bad["WWW-Authenticate"]
    ok = read(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert ok.status_code == 200
    denied = write(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert denied.status_code == 403 and 'error="insufficient_scope"' in denied["WWW-Authenticate"]


def test_the_drf_authentication_class(agent, get_token, verifier):
    token = get_token(agent, scope="tickets:read")["access_token"]

    class Tickets(APIView):
        authentication_classes = [AccessTokenAuthentication.using(verifier)]
        permission_classes = [HasScopes]
        required_scopes = ["tickets:read"]

        def get(self, request):
            return Response({"agent": request.user.client_id, "task": request.user.task_id})

    class Writes(Tickets):
        required_scopes = ["tickets:write"]

    factory = APIRequestFactory()
    ok = Tickets.as_view()(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert ok.status_code == 200 and ok.data["agent"] == agent.client_id
    assert Tickets.as_view()(factory.get("/")).status_code == 401
    assert Tickets.as_view()(factory.get("/", HTTP_AUTHORIZATION="Bearer x.y.z")).status_code == 401
    assert Writes.as_view()(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {token}")).status_code == 403


def test_the_optional_introspection_sees_revocation(agent, get_token, oauth, fetches, crm, sam, alice):
    service_key = new_private_key()
    service_update(actor=sam, service=crm, introspection_jwk=public_jwk(service_key))

    def http_post(url, data):
        return oauth.post(url.removeprefix("http://testserver"), data).json()

    introspector = Introspector(endpoint="http://testserver/oauth/introspect", client_id=CRM, private_key=service_key, http_post=http_post)
    verifier = TokenVerifier(issuer="http://testserver", audience=CRM, http_get=fetches, introspector=introspector)
    token = get_token(agent)["access_token"]
    assert verifier.verify(token)["sub"] == agent.client_id
    token_revoke(token=IssuedToken.objects.get(), actor=alice)
    with pytest.raises(InvalidToken, match="revoked"):
        verifier.verify(token)


def test_a_checked_token_is_refused_once_its_key_left_the_jwks(agent, get_token, fetches, sam):
    from tokens.keys import signing_key_compromised
    from tokens.models import SigningKey

    now = [time.time()]
    verifier = TokenVerifier(issuer="http://testserver", audience=CRM, http_get=fetches, clock=lambda: now[0], jwks_max_age=300)
    token = get_token(agent)["access_token"]
    verifier.verify(token)
    signing_key_compromised(actor=sam, key=SigningKey.objects.get(kid=jwt.get_unverified_header(token)["kid"]), reason="leaked")
    verifier.verify(token)  # within jwks_max_age the verifier still trusts its copy of the JWKS
    now[0] += 301
    with pytest.raises(InvalidToken, match="unknown"):
        verifier.verify(token)


def test_a_client_that_knows_only_the_resource_finds_the_portal_from_its_401(agent, oauth, crm, grant, fetches):
    from tokens.verifier import protected_resource_metadata, resource_metadata_url

    grant(agent, crm, ["tickets:read"])
    where = resource_metadata_url(CRM)
    assert where == "https://crm.example.com/.well-known/oauth-protected-resource"
    assert resource_metadata_url("https://tools.example.com/mcp/") == "https://tools.example.com/.well-known/oauth-protected-resource/mcp"
    verifier = TokenVerifier(issuer="http://testserver", audience=CRM, http_get=fetches, resource_metadata=where)
    metadata_view = protected_resource_metadata(verifier, scopes_supported=["tickets:read"], resource_name="CRM")

    @require_token(verifier, "tickets:read")
    def tickets(request):
        return JsonResponse({"for": request.token_claims["sub"]})

    factory = RequestFactory()
    challenge = tickets(factory.get("/api/tickets"))
    assert challenge.status_code == 401
    assert challenge["WWW-Authenticate"] == f'Bearer realm="api", resource_metadata="{where}"'

    served = metadata_view(factory.get("/.well-known/oauth-protected-resource"))
    metadata = json.loads(served.content)
    assert metadata == {
        "resource": CRM, "authorization_servers": ["http://testserver"], "bearer_methods_supported": ["header"],
        "dpop_signing_alg_values_supported": ["ES256", "Ed25519", "EdDSA", "PS256", "RS256"], "scopes_supported": ["tickets:read"],
        "resource_name": "CRM",
    }
    assert metadata_view(factory.post("/.well-known/oauth-protected-resource")).status_code == 405

    (issuer,) = metadata["authorization_servers"]
    server = oauth.get(issuer.removeprefix("http://testserver") + "/.well-known/oauth-authorization-server").json()
    assert server["issuer"] == issuer
    token = token_request(oauth, agent, resource=metadata["resource"], scope=metadata["scopes_supported"][0]).json()["access_token"]
    assert tickets(factory.get("/api/tickets", HTTP_AUTHORIZATION=f"Bearer {token}")).status_code == 200


def test_a_drf_view_names_the_resource_metadata_in_its_challenge(agent, get_token, fetches):
    verifier = TokenVerifier(issuer="http://testserver", audience=CRM, http_get=fetches,
                             resource_metadata="https://crm.example.com/.well-known/oauth-protected-resource")

    class Tickets(APIView):
        authentication_classes = [AccessTokenAuthentication.using(verifier)]
        permission_classes = [HasScopes]

        def get(self, request):
            return Response({})

    refused = Tickets.as_view()(APIRequestFactory().get("/", HTTP_AUTHORIZATION="Bearer x.y.z"))
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].startswith('Bearer realm="api", resource_metadata="https://crm.example.com/.well-known/oauth-protected-resource", error="invalid_token"')


@pytest.fixture
def cut_off_server():
    from tests.slow_server import SlowServer

    server = SlowServer(body=b"eyJhbGciOi", every=0, declared_length=4000)  # 10 of 4,000 bytes, then it hangs up
    yield server
    server.stop()


def test_an_answer_cut_off_mid_way_is_a_fetch_that_failed_not_a_500(agent, get_token, oauth, cut_off_server):
    from tokens import verifier as verifier_module

    token = get_token(agent)["access_token"]
    broken = TokenVerifier(
        issuer="http://testserver", audience=CRM,
        http_get=lambda url: verifier_module._http_get(url.replace("http://testserver", cut_off_server.origin)),
    )
    view = require_token(broken)(lambda request: JsonResponse({"ok": True}))
    assert view(RequestFactory().get("/tickets", HTTP_AUTHORIZATION=f"Bearer {token}")).status_code == 401
    # The status list held is used until its own exp when a fetch breaks off, as when it fails.
    now, down = [time.time()], [False]

    def http_get(url):
        if down[0] and "/oauth/status/" in url:
            return verifier_module._http_get(url.replace("http://testserver", cut_off_server.origin))
        return oauth.get(url.removeprefix("http://testserver")).content

    verifier = TokenVerifier(issuer="http://testserver", audience=CRM, http_get=http_get, clock=lambda: now[0])
    verifier.verify(token)
    down[0], now[0] = True, now[0] + 60
    assert verifier.verify(token)["sub"] == agent.client_id
