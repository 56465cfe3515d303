"""DPoP (RFC 9449): tokens bound to a key the agent holds, at the token endpoint, introspection,
token exchange, policy and the resource-server verifier. Proofs are real signed JWTs."""

import json
import time
import uuid

import jwt
import pytest
from django.http import JsonResponse
from django.test import RequestFactory

from tokens.dpop import Nonces, Proof, ProofReplayCache, ReplayCacheFull, access_token_hash
from tokens.models import IssuedToken, Task
from tokens.policy.models import PolicyDecision
from tokens.policy.schema import default_policy_text
from tokens.public_keys import jwk_thumbprint
from tokens.verifier import DPoPRequest, InvalidDPoPProof, InvalidToken, TokenVerifier, require_token
from tests.policy.conftest import active_version
from tests.tokens.test_introspection import crm_server  # noqa: F401  (fixture)

from .conftest import ASSERTION_TYPE, CRM, TASK, new_private_key, public_jwk, token_request

pytestmark = pytest.mark.django_db

TOKEN_URL = "http://testserver/oauth/token"
API_URL = "https://crm.example.com/api/tickets"


class Holder:
    """An agent's DPoP key: the private half stays here."""

    def __init__(self, alg="ES256"):
        self.alg = alg
        self.private_key = new_private_key(alg)
        self.jwk = public_jwk(self.private_key)
        self.jkt = jwk_thumbprint(self.jwk)

    def proof(self, method="POST", url=TOKEN_URL, *, token=None, iat=None, jti=None, typ="dpop+jwt", jwk=None, **extra):
        claims = {"htm": method, "htu": url, "iat": int(time.time()) if iat is None else iat, "jti": jti or uuid.uuid4().hex, **extra}
        if token is not None:
            claims["ath"] = access_token_hash(token)
        headers = {"typ": typ, "jwk": jwk or self.jwk}
        return jwt.encode(claims, self.private_key, algorithm=self.alg, headers=headers)


@pytest.fixture
def holder():
    return Holder()


@pytest.fixture
def granted(agent, crm, grant):
    grant(agent, crm, ["tickets:read", "tickets:write"])
    return agent


def dpop_token(client, agent, proof, **params):
    data = {"grant_type": "client_credentials", "resource": CRM, "scope": "tickets:read", "authorization_details": json.dumps(TASK)}
    data.update(params)
    data.update(client_assertion_type=ASSERTION_TYPE, client_assertion=agent.assertion())
    return client.post("/oauth/token", data, HTTP_DPOP=proof)


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def test_a_proof_with_the_token_request_binds_the_token_to_that_key(oauth, granted, holder):
    response = dpop_token(oauth, granted, holder.proof())
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "DPoP"
    assert claims_of(body["access_token"])["cnf"] == {"jkt": holder.jkt}
    assert IssuedToken.objects.get().cnf_jkt == holder.jkt
    assert PolicyDecision.objects.get(action="issue").request["context"]["sender_constrained"] is True


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
def test_a_proof_with_an_rsa_key_signs_with_the_algorithm_the_proof_names(oauth, granted, alg):
    # The proof carries its own key, and RFC 9449 lets the client choose the algorithm per proof:
    # a registered key's one-algorithm rule (tokens/public_keys.py) does not tie it.
    holder = Holder(alg)
    response = dpop_token(oauth, granted, holder.proof())
    assert response.status_code == 200, response.content
    assert claims_of(response.json()["access_token"])["cnf"] == {"jkt": holder.jkt}


def test_a_proof_key_that_names_its_alg_verifies_under_that_alg_only(oauth, granted):
    holder = Holder("PS256")
    response = dpop_token(oauth, granted, holder.proof(jwk={**holder.jwk, "alg": "RS256"}))
    assert response.status_code == 400 and response.json()["error"] == "invalid_dpop_proof"
    assert not IssuedToken.objects.exists()


def test_without_a_proof_the_token_is_a_bearer_token(oauth, granted):
    body = token_request(oauth, granted).json()
    assert body["token_type"] == "Bearer" and "cnf" not in claims_of(body["access_token"])
    assert IssuedToken.objects.get().cnf_jkt == ""


def test_the_proof_may_name_the_endpoint_with_a_query_string(oauth, granted, holder):
    assert dpop_token(oauth, granted, holder.proof(url=TOKEN_URL + "?x=1")).status_code == 200


@pytest.mark.parametrize(
    "make, says",
    [
        (lambda h: h.proof(method="GET"), "htm must be POST"),
        (lambda h: h.proof(url="http://testserver/oauth/introspect"), "htu is not this endpoint"),
        (lambda h: h.proof(url="http://[testserver/oauth/token"), "htu is not this endpoint"),  # no URL urlsplit reads
        (lambda h: h.proof(iat=int(time.time()) - 120), "iat must be the time it was made"),
        (lambda h: h.proof(iat=int(time.time()) + 60), "iat must be the time it was made"),
        (lambda h: h.proof(typ="JWT"), "typ must be dpop+jwt"),
        (lambda h: h.proof(jwk=Holder().jwk), "signature does not verify"),
        (lambda h: h.proof(jwk={**h.jwk, "d": "AAAA"}), "holds a private key"),
        (lambda h: h.proof() + "," + h.proof(), "Send one DPoP proof"),
        (lambda h: "not-a-jwt", "not a compact JWT"),
        (lambda h: jwt.encode({"htm": "POST", "htu": TOKEN_URL, "iat": int(time.time()), "jti": "x"}, "a-shared-secret-is-no-proof-of-anything", algorithm="HS256", headers={"typ": "dpop+jwt", "jwk": h.jwk}), "must be signed with one of"),
    ],
)
def test_a_bad_proof_is_an_invalid_dpop_proof_and_spends_nothing(oauth, granted, holder, make, says):
    assertion = granted.assertion()
    data = {"grant_type": "client_credentials", "resource": CRM, "scope": "tickets:read", "authorization_details": json.dumps(TASK),
            "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    response = oauth.post("/oauth/token", data, HTTP_DPOP=make(holder))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_dpop_proof" and says in response.json()["error_description"]
    assert not IssuedToken.objects.exists() and not Task.objects.exists()
    # The client assertion was not spent on the refused request: the agent fixes the proof and retries.
    data["client_assertion"] = assertion
    assert oauth.post("/oauth/token", data, HTTP_DPOP=holder.proof()).status_code == 200


def test_policy_can_require_sender_constrained_tokens(oauth, granted, holder, sam):
    active_version(sam, default_policy_text() + """
@id("forbid-unbound-tokens")
forbid (principal, action == Action::"issue", resource) unless { context.sender_constrained };
""", examples=[{"name": "bound", "expect": "allow", "context": {"sender_constrained": True}},
               {"name": "unbound", "expect": "deny", "context": {"sender_constrained": False}}])
    refused = token_request(oauth, granted)
    assert refused.status_code == 400 and refused.json()["error"] == "access_denied"
    assert dpop_token(oauth, granted, holder.proof()).status_code == 200


def test_introspection_says_a_bound_token_is_dpop_with_its_key(oauth, granted, holder, crm_server):
    token = dpop_token(oauth, granted, holder.proof()).json()["access_token"]
    answer = crm_server.introspect(oauth, token).json()
    assert answer["active"] is True and answer["token_type"] == "DPoP" and answer["cnf"] == {"jkt": holder.jkt}


def test_a_bound_token_is_exchanged_only_with_a_proof_of_its_key(oauth, granted, holder):
    token = dpop_token(oauth, granted, holder.proof()).json()["access_token"]
    exchange = {"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token": token,
                "subject_token_type": "urn:ietf:params:oauth:token-type:access_token", "scope": "tickets:read"}

    def ask(**headers):
        data = {**exchange, "client_assertion_type": ASSERTION_TYPE, "client_assertion": granted.assertion()}
        return oauth.post("/oauth/token", data, **headers)

    without = ask()
    assert without.status_code == 400 and without.json()["error"] == "invalid_request" and "DPoP" in without.json()["error_description"]
    other = ask(HTTP_DPOP=Holder().proof())
    assert other.status_code == 400 and other.json()["error"] == "invalid_request"
    same = ask(HTTP_DPOP=holder.proof())
    assert same.status_code == 200, same.content
    assert same.json()["token_type"] == "DPoP" and claims_of(same.json()["access_token"])["cnf"] == {"jkt": holder.jkt}


def test_discovery_lists_the_proof_algorithms(oauth):
    assert set(oauth.get("/.well-known/oauth-authorization-server").json()["dpop_signing_alg_values_supported"]) == {
        "ES256", "Ed25519", "EdDSA", "PS256", "RS256",
    }


# The resource server's side


@pytest.fixture
def verifier(oauth):
    return TokenVerifier(issuer="http://testserver", audience=CRM, http_get=lambda url: oauth.get(url.removeprefix("http://testserver")).content)


@pytest.fixture
def bound(oauth, granted, holder):
    return dpop_token(oauth, granted, holder.proof()).json()["access_token"]


def test_the_verifier_accepts_a_bound_token_with_a_fresh_proof_of_its_key_once(verifier, bound, holder):
    proof = holder.proof("GET", API_URL, token=bound)
    claims = verifier.verify(bound, scopes=["tickets:read"], dpop=DPoPRequest(proof, "GET", API_URL + "?page=2"))
    assert claims["cnf"] == {"jkt": holder.jkt}
    with pytest.raises(InvalidDPoPProof, match="already used"):
        verifier.verify(bound, dpop=DPoPRequest(proof, "GET", API_URL))
    verifier.verify(bound, dpop=DPoPRequest(holder.proof("GET", API_URL, token=bound), "GET", API_URL))


@pytest.mark.parametrize(
    "make, says",
    [
        (lambda h, t: Holder().proof("GET", API_URL, token=t), "not made with the key this token is bound to"),
        (lambda h, t: h.proof("GET", API_URL), "ath is not this access token's hash"),
        (lambda h, t: h.proof("GET", API_URL, token="another.token.here"), "ath is not this access token's hash"),
        (lambda h, t: h.proof("POST", API_URL, token=t), "htm must be GET"),
        (lambda h, t: h.proof("GET", "https://evil.example.com/api/tickets", token=t), "htu is not this endpoint"),
        (lambda h, t: None, "proof is missing"),
    ],
)
def test_the_verifier_refuses_a_proof_that_does_not_prove_this_request(verifier, bound, holder, make, says):
    with pytest.raises(InvalidDPoPProof, match=says):
        verifier.verify(bound, dpop=DPoPRequest(make(holder, bound), "GET", API_URL))


def test_a_bound_token_sent_as_bearer_and_a_bearer_token_sent_as_dpop_are_refused(verifier, bound, oauth, granted, holder):
    with pytest.raises(InvalidToken, match="bound to a DPoP key"):
        verifier.verify(bound)
    plain = token_request(oauth, granted).json()["access_token"]
    with pytest.raises(InvalidToken, match="not DPoP-bound"):
        verifier.verify(plain, dpop=DPoPRequest(holder.proof("GET", API_URL, token=plain), "GET", API_URL))


def test_a_protected_view_takes_the_dpop_scheme_and_challenges_a_bad_proof(verifier, bound, holder):
    @require_token(verifier, "tickets:read")
    def tickets(request):
        return JsonResponse({"for": request.token_claims["sub"]})

    factory = RequestFactory()
    url = "http://testserver/api/tickets"
    good = factory.get("/api/tickets", HTTP_AUTHORIZATION=f"DPoP {bound}", HTTP_DPOP=holder.proof("GET", url, token=bound))
    assert tickets(good).status_code == 200
    bad = factory.get("/api/tickets", HTTP_AUTHORIZATION=f"DPoP {bound}", HTTP_DPOP=Holder().proof("GET", url, token=bound))
    refused = tickets(bad)
    assert refused.status_code == 401 and json.loads(refused.content)["error"] == "invalid_dpop_proof"
    assert refused["WWW-Authenticate"].startswith('DPoP realm="api", algs="ES256 Ed25519 EdDSA PS256 RS256", error="invalid_dpop_proof"')
    as_bearer = tickets(factory.get("/api/tickets", HTTP_AUTHORIZATION=f"Bearer {bound}"))
    assert as_bearer.status_code == 401 and "bound to a DPoP key" in json.loads(as_bearer.content)["error_description"]


def test_a_proof_made_with_another_jose_library_binds_to_the_thumbprint_it_computes(oauth, granted):
    from joserfc import jwt as jose_jwt
    from joserfc.jwk import ECKey

    key = ECKey.generate_key("P-256")
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    proof = jose_jwt.encode(header, {"htm": "POST", "htu": TOKEN_URL, "iat": int(time.time()), "jti": uuid.uuid4().hex}, key)
    body = dpop_token(oauth, granted, proof).json()
    assert claims_of(body["access_token"])["cnf"] == {"jkt": key.thumbprint()}


def test_compliance_counts_the_tokens_bound_to_a_key(oauth, granted, holder):
    from nhiportal.compliance.controls import assess, control_get

    dpop_token(oauth, granted, holder.proof())
    token_request(oauth, granted)
    (result,) = assess([control_get("short-lived-tokens")])
    assert result.result.figures["issued, last 30 days"] == 2
    assert result.result.figures["bound to the agent's key (DPoP)"] == 1
    assert result.result.figures["services taking only bound tokens"] == 0


# Server nonces (RFC 9449 sections 8 and 9)


@pytest.fixture
def nonces_on(settings):
    settings.NHI = {**settings.NHI, "DPOP_NONCE_SECONDS": 300}


def test_nonces_are_accepted_in_their_window_and_the_next_only():
    nonces = Nonces(b"k" * 32, lifetime=300)
    made = nonces.current(now=1_000_000)
    assert nonces.accepts(made, 1_000_000) and nonces.accepts(made, 1_000_000 + 300)
    assert not nonces.accepts(made, 1_000_000 + 600)
    assert not Nonces(b"x" * 32, lifetime=300).accepts(made, 1_000_000)
    window, _, mac = made.partition(".")
    for forged in (f"{window}.{'A' * len(mac)}", f"0x{window}.{mac}", window, "", None, 42, made + "=", " " + made):
        assert not nonces.accepts(forged, 1_000_000), forged


def test_the_token_endpoint_hands_out_no_nonce_unless_switched_on(oauth, granted, holder):
    assert "DPoP-Nonce" not in dpop_token(oauth, granted, holder.proof())


def test_with_nonces_on_a_proof_without_one_gets_use_dpop_nonce_and_spends_nothing(oauth, granted, holder, nonces_on):
    assertion = granted.assertion()
    data = {"grant_type": "client_credentials", "resource": CRM, "scope": "tickets:read", "authorization_details": json.dumps(TASK),
            "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    refused = oauth.post("/oauth/token", data, HTTP_DPOP=holder.proof())
    assert refused.status_code == 400 and refused.json()["error"] == "use_dpop_nonce"
    assert "nonce in the DPoP-Nonce header" in refused.json()["error_description"]
    assert refused["Cache-Control"] == "no-store"
    nonce = refused["DPoP-Nonce"]
    assert not IssuedToken.objects.exists() and not Task.objects.exists()

    issued = oauth.post("/oauth/token", data, HTTP_DPOP=holder.proof(nonce=nonce))
    assert issued.status_code == 200, issued.content
    assert issued.json()["token_type"] == "DPoP" and issued["DPoP-Nonce"] == nonce


def test_with_nonces_on_a_stale_or_forged_nonce_is_refused(oauth, granted, holder, nonces_on):
    from tokens.oauth.token import dpop_nonces

    stale = dpop_nonces().current(now=time.time() - 900)
    refused = dpop_token(oauth, granted, holder.proof(nonce=stale))
    assert refused.json()["error"] == "use_dpop_nonce" and "stale" in refused.json()["error_description"]
    other_portal = Nonces(b"another portal's secret", 300).current()
    assert dpop_token(oauth, granted, holder.proof(nonce=other_portal)).json()["error"] == "use_dpop_nonce"
    assert not IssuedToken.objects.exists()


def test_with_nonces_on_bearer_requests_and_bad_proofs_answer_as_before_with_a_nonce(oauth, granted, holder, nonces_on):
    plain = token_request(oauth, granted)
    assert plain.status_code == 200 and plain.json()["token_type"] == "Bearer" and plain["DPoP-Nonce"]
    bad = dpop_token(oauth, granted, holder.proof(method="GET"))
    assert bad.json()["error"] == "invalid_dpop_proof" and bad["DPoP-Nonce"]


def test_a_resource_server_asks_for_its_own_nonce_then_accepts_the_proof(oauth, granted, holder):
    nonces = Nonces(b"crm's own secret", lifetime=60)
    verifier = TokenVerifier(issuer="http://testserver", audience=CRM, dpop_nonces=nonces,
                             http_get=lambda url: oauth.get(url.removeprefix("http://testserver")).content)
    token = dpop_token(oauth, granted, holder.proof()).json()["access_token"]

    @require_token(verifier, "tickets:read")
    def tickets(request):
        return JsonResponse({"for": request.token_claims["sub"]})

    def call(proof):
        return tickets(RequestFactory().get("/api/tickets", HTTP_AUTHORIZATION=f"DPoP {token}", HTTP_DPOP=proof))

    url = "http://testserver/api/tickets"
    refused = call(holder.proof("GET", url, token=token))
    assert refused.status_code == 401 and json.loads(refused.content)["error"] == "use_dpop_nonce"
    assert 'error="use_dpop_nonce"' in refused["WWW-Authenticate"] and refused["WWW-Authenticate"].startswith("DPoP ")
    nonce = refused["DPoP-Nonce"]
    answered = call(holder.proof("GET", url, token=token, nonce=nonce))
    assert answered.status_code == 200 and answered["DPoP-Nonce"] == nonces.current()
    portal_nonce = Nonces(b"the portal's secret", 300).current()
    assert call(holder.proof("GET", url, token=token, nonce=portal_nonce)).status_code == 401


def test_a_drf_view_sends_its_nonce_with_the_refusal_and_every_answer_after(oauth, granted, holder):
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    from tokens.verifier import AccessTokenAuthentication, HasScopes, SendsDPoPNonce

    nonces = Nonces(b"crm's own secret", lifetime=60)
    verifier = TokenVerifier(issuer="http://testserver", audience=CRM, dpop_nonces=nonces,
                             http_get=lambda url: oauth.get(url.removeprefix("http://testserver")).content)
    token = dpop_token(oauth, granted, holder.proof()).json()["access_token"]

    class Tickets(SendsDPoPNonce, APIView):
        authentication_classes = [AccessTokenAuthentication.using(verifier)]
        permission_classes = [HasScopes]
        required_scopes = ["tickets:read"]

        def get(self, request):
            return Response({"agent": request.user.client_id})

    url = "http://testserver/api/tickets"

    def call(proof, scheme="DPoP"):
        return Tickets.as_view()(APIRequestFactory().get("/api/tickets", HTTP_AUTHORIZATION=f"{scheme} {token}", HTTP_DPOP=proof))

    refused = call(holder.proof("GET", url, token=token))
    assert refused.status_code == 401 and refused["DPoP-Nonce"] == nonces.current()
    assert refused["WWW-Authenticate"].startswith('DPoP realm="api"') and 'error="use_dpop_nonce"' in refused["WWW-Authenticate"]
    answered = call(holder.proof("GET", url, token=token, nonce=refused["DPoP-Nonce"]))
    assert answered.status_code == 200 and answered["DPoP-Nonce"] == nonces.current()
    assert "DPoP-Nonce" not in call(None, scheme="Bearer")  # not a DPoP call: no nonce to give


# A service that takes only bound tokens


def test_a_service_that_takes_only_bound_tokens_refuses_a_bearer_request_from_the_next_one_on(oauth, granted, holder, crm, sam):
    from tokens.services import service_update

    assert token_request(oauth, granted).status_code == 200  # planned ahead on these facts next time
    service_update(actor=sam, service=crm, requires_dpop=True)
    refused = token_request(oauth, granted)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_dpop_proof"
    assert "takes only DPoP-bound tokens" in refused.json()["error_description"]
    decision = PolicyDecision.objects.filter(identity_id=granted.identity.pk, decision="deny").get()
    assert decision.policy_ids == ["portal:dpop-required"]
    assert IssuedToken.objects.count() == 1
    bound = dpop_token(oauth, granted, holder.proof())
    assert bound.status_code == 200 and bound.json()["token_type"] == "DPoP"


def test_an_exchange_into_a_service_that_takes_only_bound_tokens_needs_a_proof(oauth, granted, holder, crm, sam):
    from tokens.services import service_update

    held = token_request(oauth, granted, scope="tickets:read tickets:write").json()["access_token"]
    service_update(actor=sam, service=crm, requires_dpop=True)
    exchange = {"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token": held,
                "subject_token_type": "urn:ietf:params:oauth:token-type:access_token", "scope": "tickets:read"}

    def ask(**headers):
        return oauth.post("/oauth/token", {**exchange, "client_assertion_type": ASSERTION_TYPE, "client_assertion": granted.assertion()}, **headers)

    assert ask().json()["error"] == "invalid_dpop_proof"
    bound = ask(HTTP_DPOP=holder.proof())
    assert bound.status_code == 200 and claims_of(bound.json()["access_token"])["cnf"] == {"jkt": holder.jkt}


def test_a_security_admin_makes_a_service_take_only_bound_tokens_on_its_page_and_the_api(client_for, sam, alice, crm):
    page = client_for(sam).get(f"/services/{crm.pk}/edit/").content.decode()
    assert 'name="requires_dpop"' in page and "Takes only DPoP-bound tokens" in page
    assert "bearer or DPoP-bound" in client_for(alice).get(f"/services/{crm.pk}/").content.decode()
    response = client_for(sam).patch(f"/api/v1/services/{crm.pk}/", {"requires_dpop": True}, content_type="application/json")
    assert response.status_code == 200 and response.json()["requires_dpop"] is True
    assert "DPoP-bound only" in client_for(alice).get(f"/services/{crm.pk}/").content.decode()
    assert "DPoP-bound only" in client_for(alice).get("/services/").content.decode()
    from nhiportal.compliance.controls import assess, control_get

    (result,) = assess([control_get("short-lived-tokens")])
    assert result.result.figures["services taking only bound tokens"] == 1
    assert client_for(alice).patch(f"/api/v1/services/{crm.pk}/", {"requires_dpop": False}, content_type="application/json").status_code == 403


def test_a_nonce_written_with_other_scripts_digits_is_stale_not_a_crash():
    nonces = Nonces(b"k" * 32, 300)
    now = time.time()
    head, dot, mac = nonces.current(now).partition(".")
    digit = next(i for i, ch in enumerate(head) if ch.isdigit())
    fullwidth = head[:digit] + chr(0xFF10 + int(head[digit])) + head[digit + 1:]  # int(..., 16) reads it the same
    assert nonces.accepts(nonces.current(now), now) and not nonces.accepts(fullwidth + dot + mac, now)


def test_flooding_the_verifiers_replay_memory_never_lets_a_captured_proof_in_again(oauth, make_agent, crm, grant):
    # RFC 9449 section 11.1: a proof's jti is refused for as long as the proof could be accepted.
    victim, attacker = make_agent(), make_agent()
    for agent in (victim, attacker):
        grant(agent, crm, ["tickets:read"])
    victim_key, attacker_key = Holder(), Holder()
    victim_token = dpop_token(oauth, victim, victim_key.proof()).json()["access_token"]
    attacker_token = dpop_token(oauth, attacker, attacker_key.proof()).json()["access_token"]
    verifier = TokenVerifier(
        issuer="http://testserver", audience=CRM, proof_replays=ProofReplayCache(max_entries=4),
        http_get=lambda url: oauth.get(url.removeprefix("http://testserver")).content,
    )
    captured = victim_key.proof("GET", API_URL, token=victim_token)
    verifier.verify(victim_token, dpop=DPoPRequest(captured, "GET", API_URL))
    for _ in range(3):
        verifier.verify(attacker_token, dpop=DPoPRequest(attacker_key.proof("GET", API_URL, token=attacker_token), "GET", API_URL))
    with pytest.raises(InvalidDPoPProof, match="Too many DPoP proofs"):  # full of young proofs: none is forgotten
        verifier.verify(attacker_token, dpop=DPoPRequest(attacker_key.proof("GET", API_URL, token=attacker_token), "GET", API_URL))
    with pytest.raises(InvalidDPoPProof):
        verifier.verify(victim_token, dpop=DPoPRequest(captured, "GET", API_URL))


def test_the_replay_memory_makes_room_only_by_forgetting_proofs_past_their_age():
    cache, now = ProofReplayCache(max_entries=1), time.time()
    assert cache.first_use(Proof("key", "first", int(now)), now)
    with pytest.raises(ReplayCacheFull):
        cache.first_use(Proof("key", "second", int(now)), now + 30)
    later = now + 61  # the first proof is refused on age from here on: it may go
    assert cache.first_use(Proof("key", "second", int(later)), later)
    assert not cache.first_use(Proof("key", "second", int(later)), later)
