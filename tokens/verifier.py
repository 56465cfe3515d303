"""Verifying the portal's access tokens in a resource server: offline, from the published JWKS.

    from tokens.verifier import TokenVerifier, AccessTokenAuthentication, require_token

    crm = TokenVerifier(issuer="https://nhi.example.com", audience="https://crm.example.com")

    @require_token(crm, "tickets:read")            # a plain Django view
    def tickets(request):
        return JsonResponse({"for": request.token_claims["sub"]})

    class TicketViewSet(viewsets.ViewSet):          # a DRF view
        authentication_classes = [AccessTokenAuthentication.using(crm)]
        permission_classes = [HasScopes]
        required_scopes = ["tickets:read"]

What is checked (RFC 9068, RFC 8725): the signature, with a key from the issuer's JWKS and
the algorithm that key is for (never "none", never HS*); the typ header at+jwt; iss; aud;
exp and nbf (and iat not in the future) with a small leeway; and the scopes asked for.
Tokens are parsed by tokens.jws (once, not per check) and signatures checked with PyJWT's
algorithm objects on key objects built once from the JWKS.

Keys: the JWKS is fetched on first use and kept; a token with an unknown kid triggers one
re-fetch, at most every `min_refetch_interval` seconds, so a flood of forged kids cannot
turn into a flood of requests to the portal. The portal publishes its next key ahead of
rotation, so a rotation rarely needs even that.

DPoP (RFC 9449): a token carrying cnf.jkt is bound to the agent's key. It is accepted only
when sent as `Authorization: DPoP <token>` with a `DPoP` proof header made with that key for
this request's method and URL and this token (tokens/dpop.py); each proof once. A bound token
sent as Bearer, or a bearer token sent as DPoP, is refused: a copy of a bound token is
useless without the key. With `dpop_nonces=Nonces(secret)` (tokens/dpop.py), proofs must also
carry a nonce this server handed out lately (RFC 9449 section 9): a proof without one gets 401
`use_dpop_nonce` and a `DPoP-Nonce` header, and each answer to a DPoP call carries the current
nonce. DRF views send the header when they mix in `SendsDPoPNonce`.

Discovery (RFC 9728): `protected_resource_metadata(verifier)` is a view serving the resource's
metadata, naming the portal as its authorization server; with `resource_metadata=` set, each
401 and 403 names that document, so a client (an MCP client, say) that knows only the
resource finds where to get a token.

Revocation (draft-ietf-oauth-status-list): each token names its place in one of the portal's
status lists, a signed JWT of one bit per token. The verifier fetches a list when it first
meets it and again every `ttl` seconds the list gives (30 by default), so a revoked token is
refused within that time while each call stays offline. A list that cannot be fetched is used
as last fetched until its own exp; past that the tokens it names are refused (fail closed).
For consequential APIs that must see a revocation at once, pass an `Introspector` to also ask
the portal (RFC 7662) on every call.

Speed: parsed keys are kept as key objects, and a token already verified is remembered
(bounded, until it expires), so repeated calls with the same token cost a dictionary
lookup, a clock check and a bit in its status list.
"""

import base64
import http.client
import json
import threading
import time
import urllib.parse
import urllib.request
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps

import jwt
from django.http import JsonResponse
from django.views.decorators.http import require_safe
from rest_framework import authentication, exceptions, permissions

from nhiportal import json_input

from .dpop import SIGNING_ALGORITHMS as DPOP_ALGORITHMS, InvalidProof, NonceRequired, Nonces, ProofReplayCache, check_proof
from .jws import ClaimsError, JWSError, check_claims, parse

ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class InvalidToken(Exception):
    """The token is not valid here. `description` is safe to send back in WWW-Authenticate."""

    error = "invalid_token"

    def __init__(self, description: str):
        super().__init__(description)
        self.description = description


class InsufficientScope(InvalidToken):
    error = "insufficient_scope"


class InvalidDPoPProof(InvalidToken):
    error = "invalid_dpop_proof"


class UseDPoPNonce(InvalidDPoPProof):
    """The proof lacks a current nonce: send `nonce` back as the DPoP-Nonce header."""

    error = "use_dpop_nonce"

    def __init__(self, description: str, nonce: str):
        super().__init__(description)
        self.nonce = nonce


@dataclass(frozen=True)
class DPoPRequest:
    """What a DPoP proof must prove: the proof header, and the request it came with."""

    proof: str | None
    method: str
    url: str


STATUS_LIST_TYPE = "statuslist+jwt"
MAX_STATUS_LIST_BYTES = 16 << 20  # a list inflated past this is refused, not held in memory


def _http_get(url: str, timeout: float = 5.0) -> bytes:
    """GET the JWKS or a status list: the issuer's own URLs, never one a caller chose."""
    request = urllib.request.Request(url, headers={"Accept": "application/json, application/statuslist+jwt"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the issuer's URLs
            return response.read()
    except http.client.HTTPException as error:  # cut off mid-answer (IncompleteRead), or not HTTP
        # An OSError, like a refused connection: the callers keep what they fetched last.
        raise OSError(f"{url} answered badly: {error!r}") from None


def _http_post_form(url: str, data: dict, timeout: float = 5.0) -> dict:
    body = urllib.parse.urlencode(data).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the configured endpoint
        return json.loads(response.read())


class Introspector:
    """Asks the portal whether a token is still active (RFC 7662), as a registered service.

    The service authenticates with private_key_jwt: client_id is its audience, and the
    assertion is signed with the private key whose public half is registered on the service.
    """

    REUSE_SECONDS = 60  # the portal accepts a service's assertion again until it expires

    def __init__(self, *, endpoint: str, client_id: str, private_key, alg: str = "ES256", kid: str | None = None,
                 http_post: Callable[[str, dict], dict] = _http_post_form):
        self.endpoint, self.client_id, self.private_key, self.alg, self.kid = endpoint, client_id, private_key, alg, kid
        self.http_post = http_post
        self._current: tuple[float, str] | None = None

    def _assertion(self) -> str:
        now = time.time()
        if self._current is None or now - self._current[0] > self.REUSE_SECONDS:
            issued = int(now)
            claims = {
                "iss": self.client_id, "sub": self.client_id, "aud": self.endpoint,
                "iat": issued, "exp": issued + 2 * self.REUSE_SECONDS, "jti": uuid.uuid4().hex,
            }
            headers = {"kid": self.kid} if self.kid else None
            self._current = (now, jwt.encode(claims, self.private_key, algorithm=self.alg, headers=headers))
        return self._current[1]

    def active(self, token: str) -> bool:
        answer = self.http_post(
            self.endpoint, {"token": token, "client_assertion_type": ASSERTION_TYPE, "client_assertion": self._assertion()}
        )
        return answer.get("active") is True


class TokenVerifier:
    """Verifies access tokens for one audience (a resource server)."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        algorithms: Iterable[str] = ("ES256", "EdDSA"),
        leeway: int = 30,
        min_refetch_interval: float = 30.0,
        jwks_max_age: float = 300.0,
        cache_size: int = 10_000,
        introspector: Introspector | None = None,
        check_status: bool = True,
        http_get: Callable[[str], bytes] = _http_get,
        clock: Callable[[], float] = time.time,
        proof_replays: ProofReplayCache | None = None,
        dpop_nonces: Nonces | None = None,
        resource_metadata: str | None = None,
    ):
        self.issuer = issuer
        self.audience = audience
        self.jwks_url = jwks_url or issuer.rstrip("/") + "/oauth/jwks.json"
        self.algorithms = frozenset(algorithms)
        self.leeway = leeway
        self.min_refetch_interval = min_refetch_interval
        self.jwks_max_age = jwks_max_age
        self.cache_size = cache_size
        self.introspector = introspector
        self.check_status = check_status
        self.http_get = http_get
        self.clock = clock
        self._keys: dict[str, tuple[str, object]] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self._verified: dict[str, tuple] = {}  # token -> (claims, scopes, kid, the key checked with)
        self._proofs = proof_replays or ProofReplayCache()
        self.dpop_nonces = dpop_nonces
        # Where this resource serves its RFC 9728 metadata (protected_resource_metadata): named
        # in every challenge, so a client that only knows the resource finds the portal.
        self.resource_metadata = resource_metadata
        self._status_lists: dict[str, _StatusList] = {}
        self._status_lock = threading.Lock()

    # Keys

    def _load(self, jwks: dict) -> dict[str, tuple[str, object]]:
        keys = {}
        for entry in jwks.get("keys", []):
            try:
                parsed = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue  # a key this verifier cannot use is not a reason to refuse the others
            if parsed.key_id and parsed.algorithm_name in self.algorithms:
                keys[parsed.key_id] = (parsed.algorithm_name, parsed.key)
        return keys

    def _refresh(self, *, force: bool) -> None:
        with self._lock:
            now = self.clock()
            if self._fetched_at is not None:
                age = now - self._fetched_at
                if age < self.min_refetch_interval or (not force and age < self.jwks_max_age):
                    return
            self._fetched_at = now
            try:
                self._keys = self._load(json_input.loads(self.http_get(self.jwks_url)))
            except (OSError, ValueError):
                pass  # keep the keys we had; the next allowed attempt tries again

    def _key(self, kid) -> tuple[str, object]:
        if self._fetched_at is None or self.clock() - self._fetched_at > self.jwks_max_age:
            self._refresh(force=False)
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            self._refresh(force=True)
            key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("The token's signing key is unknown.")
        return key

    # Tokens

    def _decode(self, token: str) -> dict:
        try:
            jws = parse(token)
        except JWSError:
            raise InvalidToken("The token is malformed.") from None
        if jws.header.get("typ") not in ACCESS_TOKEN_TYPES:
            raise InvalidToken("This is not an access token (typ).")
        entry = self._key(jws.header.get("kid"))
        alg, key = entry
        if not jws.verify(key, alg):
            raise InvalidToken("The token's signature does not verify.")
        try:
            check_claims(
                jws.claims, now=self.clock(), leeway=self.leeway, audiences=(self.audience,), issuer=self.issuer,
                require=("iss", "sub", "aud", "exp", "iat", "jti"),
            )
        except ClaimsError as e:
            raise InvalidToken("The token has expired." if e.problem == "expired" else f"The token's {e.claim} is {e.problem}.") from None
        return jws.claims, jws.header.get("kid"), entry

    def _still_published(self, kid, entry) -> bool:
        """Whether the key a cached token was checked with is still in the JWKS as last fetched
        (refetched when older than jwks_max_age)."""
        if self._fetched_at is None or self.clock() - self._fetched_at > self.jwks_max_age:
            self._refresh(force=False)
        return self._keys.get(kid) is entry

    def _check_time(self, claims: dict) -> None:
        now = self.clock()
        if claims["exp"] + self.leeway <= now:
            raise InvalidToken("The token has expired.")
        if claims.get("nbf", 0) - self.leeway > now:
            raise InvalidToken("The token is not valid yet.")

    def _check_binding(self, token: str, claims: dict, dpop: DPoPRequest | None) -> None:
        cnf = claims.get("cnf")
        jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
        if jkt is None:
            if dpop is not None:
                raise InvalidToken("This token is not DPoP-bound: send it as a Bearer token.")
            return
        if dpop is None:
            raise InvalidToken("This token is bound to a DPoP key: send it as Authorization: DPoP, with a DPoP proof.")
        now = self.clock()
        try:
            proof = check_proof(dpop.proof, method=dpop.method, urls=(dpop.url,), now=now, access_token=token, nonces=self.dpop_nonces)
        except NonceRequired as error:
            raise UseDPoPNonce(error.description, error.nonce) from None
        except InvalidProof as error:
            raise InvalidDPoPProof(error.description) from None
        if proof.jkt != jkt:
            raise InvalidDPoPProof("The DPoP proof is not made with the key this token is bound to.")
        try:
            first = self._proofs.first_use(proof, now)
        except InvalidProof as error:  # the replay cache is full of proofs still young
            raise InvalidDPoPProof(error.description) from None
        if not first:
            raise InvalidDPoPProof("This DPoP proof was already used: make a new one for each request.")

    # Status lists

    def _check_status(self, status) -> None:
        reference = status.get("status_list") if isinstance(status, dict) else None
        if not isinstance(reference, dict):
            raise InvalidToken("The token's status claim is malformed.")
        index, uri = reference.get("idx"), reference.get("uri")
        if type(index) is not int or index < 0 or not isinstance(uri, str):
            raise InvalidToken("The token's status claim is malformed.")
        if not uri.startswith(self.issuer.rstrip("/") + "/"):
            # Only the issuer's own lists are fetched, whatever a token names.
            raise InvalidToken("The token's status list is not the issuer's.")
        if self._status_list(uri).status(index) != 0:
            raise InvalidToken("The token has been revoked.")

    def _status_list(self, uri: str) -> "_StatusList":
        now = self.clock()
        current = self._status_lists.get(uri)
        if current is not None and now < current.fresh_until:
            return current
        with self._status_lock:  # not self._lock: fetching may refresh the keys, which takes that one
            current = self._status_lists.get(uri)
            if current is not None and now < current.fresh_until:
                return current
            try:
                current = self._fetch_status_list(uri, now)
            except (OSError, ValueError, InvalidToken):
                if current is None or now >= current.expires_at:
                    raise InvalidToken("The token's revocation status cannot be checked right now.") from None
                # Keep what we had until its exp, and try again a little later, not on every call.
                current = _StatusList(current.bits, current.lst, now + min(current.ttl, 5), current.expires_at, current.ttl)
            self._status_lists[uri] = current
            return current

    def _fetch_status_list(self, uri: str, now: float) -> "_StatusList":
        try:
            jws = parse(self.http_get(uri).decode("ascii").strip())
        except (JWSError, UnicodeDecodeError):
            raise InvalidToken("The status list is malformed.") from None
        if jws.header.get("typ") != STATUS_LIST_TYPE:
            raise InvalidToken("This is not a status list (typ).")
        alg, key = self._key(jws.header.get("kid"))
        if not jws.verify(key, alg):
            raise InvalidToken("The status list's signature does not verify.")
        claims = jws.claims
        try:
            check_claims(claims, now=now, leeway=self.leeway, issuer=self.issuer if "iss" in claims else None, require=("sub", "iat"))
        except ClaimsError as e:
            raise InvalidToken(f"The status list's {e.claim} is {e.problem}.") from None
        listed = claims.get("status_list")
        if claims["sub"] != uri or not isinstance(listed, dict) or listed.get("bits") not in (1, 2, 4, 8):
            raise InvalidToken("The status list is not the one the token names.")
        try:
            inflater = zlib.decompressobj()
            lst = inflater.decompress(base64.urlsafe_b64decode(str(listed["lst"]) + "=="), MAX_STATUS_LIST_BYTES)
        except (KeyError, ValueError, zlib.error):
            raise InvalidToken("The status list is malformed.") from None
        if inflater.unconsumed_tail:
            raise InvalidToken("The status list is too large.")
        ttl = claims.get("ttl")
        ttl = ttl if isinstance(ttl, (int, float)) and ttl > 0 else 300
        expires_at = claims["exp"] if isinstance(claims.get("exp"), (int, float)) else float("inf")
        return _StatusList(listed["bits"], lst, now + ttl, expires_at, ttl)

    def verify(self, token: str, *, scopes: Iterable[str] = (), dpop: DPoPRequest | None = None) -> dict:
        """The token's claims, or InvalidToken / InvalidDPoPProof / InsufficientScope. `dpop`:
        the proof and request, when the token came with the DPoP scheme."""
        cached = self._verified.get(token)
        if cached is not None and not self._still_published(*cached[2:]):
            cached = None  # its key left the JWKS (retired, or reported compromised): check it again
        if cached is None:
            claims, kid, entry = self._decode(token)
            granted = frozenset(str(claims.get("scope", "")).split())
            if len(self._verified) >= self.cache_size:
                self._verified.clear()
            self._verified[token] = cached = (claims, granted, kid, entry)
        claims, granted = cached[:2]
        self._check_time(claims)
        self._check_binding(token, claims, dpop)
        if self.check_status and "status" in claims:
            self._check_status(claims["status"])
        missing = [s for s in scopes if s not in granted]
        if missing:
            raise InsufficientScope(f"The token lacks the scope(s): {' '.join(missing)}.")
        if self.introspector is not None and not self.introspector.active(token):
            raise InvalidToken("The token has been revoked.")
        return claims


@dataclass(frozen=True)
class _StatusList:
    """A fetched status list: its statuses, and until when it is fresh and usable."""

    bits: int
    lst: bytes
    fresh_until: float
    expires_at: float
    ttl: float

    def status(self, index: int) -> int:
        """The index's status: `bits` bits, packed from the least significant bit of each byte."""
        position = index * self.bits
        if position >> 3 >= len(self.lst):
            raise InvalidToken("The token's status index is outside its status list.")
        return (self.lst[position >> 3] >> (position & 7)) & ((1 << self.bits) - 1)


def access_token_of(request) -> tuple[str, DPoPRequest | None] | None:
    """The access token a request carries (Bearer or DPoP scheme), with its DPoP proof and
    request for the DPoP scheme; None without one of ours."""
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    token = token.strip()
    # Only JWTs are ours: other bearer tokens (personal API tokens) belong to other authenticators.
    if token.count(".") != 2:
        return None
    if scheme.lower() == "bearer":
        return token, None
    if scheme.lower() == "dpop":
        return token, DPoPRequest(request.META.get("HTTP_DPOP"), request.method, request.build_absolute_uri())
    return None


def _challenge_value(error: InvalidToken | None, realm: str, scopes=(), resource_metadata: str | None = None) -> str:
    """The WWW-Authenticate value (RFC 6750 section 3, RFC 9449 section 7.1, RFC 9728
    section 5.1) for a refusal."""
    scheme = "DPoP" if isinstance(error, InvalidDPoPProof) else "Bearer"
    value = f'{scheme} realm="{realm}"'
    if resource_metadata:
        value += f', resource_metadata="{resource_metadata}"'
    if scheme == "DPoP":
        value += f', algs="{" ".join(DPOP_ALGORITHMS)}"'
    if error is not None:
        value += f', error="{error.error}", error_description="{error.description}"'
        if error.error == "insufficient_scope":
            value += f', scope="{" ".join(scopes)}"'
    return value


def _with_nonce(response, verifier: TokenVerifier, error: InvalidToken | None = None):
    """The nonce to use next, on an answer to a DPoP call (RFC 9449 section 9)."""
    if isinstance(error, UseDPoPNonce):
        response["DPoP-Nonce"] = error.nonce
    elif verifier.dpop_nonces is not None:
        response["DPoP-Nonce"] = verifier.dpop_nonces.current(verifier.clock())
    return response


def _challenge(verifier: TokenVerifier, error: InvalidToken | None, status: int, realm: str, scopes=()) -> JsonResponse:
    body = {"error": error.error, "error_description": error.description} if error is not None else {}
    response = JsonResponse(body, status=status)
    response["WWW-Authenticate"] = _challenge_value(error, realm, scopes, verifier.resource_metadata)
    return response


def require_token(verifier: TokenVerifier, *scopes: str, realm: str = "api"):
    """Decorate a Django view: 401 without a valid token, 403 without the scopes (RFC 6750)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            found = access_token_of(request)
            if found is None:
                return _challenge(verifier, None, 401, realm)
            token, dpop = found
            refusal = None
            try:
                request.token_claims = verifier.verify(token, scopes=scopes, dpop=dpop)
            except InsufficientScope as error:
                response = _challenge(verifier, error, 403, realm, scopes)
            except InvalidToken as error:
                refusal, response = error, _challenge(verifier, error, 401, realm)
            else:
                response = view(request, *args, **kwargs)
            return _with_nonce(response, verifier, refusal) if dpop is not None else response

        return wrapped

    return decorator


class AgentPrincipal:
    """request.user for a call made with an access token: the agent (identity) and its task."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, claims: dict):
        self.claims = claims
        self.client_id = claims.get("client_id", claims["sub"])
        self.task_id = claims.get("task_id")
        self.scopes = frozenset(str(claims.get("scope", "")).split())

    def get_username(self) -> str:
        return f"agent:{self.client_id}"

    def __str__(self):
        return self.get_username()


class AccessTokenAuthentication(authentication.BaseAuthentication):
    """DRF authentication with the portal's access tokens. Build one per verifier with using()."""

    verifier: TokenVerifier | None = None
    realm = "api"

    @classmethod
    def using(cls, verifier: TokenVerifier) -> type["AccessTokenAuthentication"]:
        return type(f"{cls.__name__}For{abs(hash(verifier.audience))}", (cls,), {"verifier": verifier})

    def authenticate(self, request):
        found = access_token_of(request)
        if found is None:
            return None
        token, dpop = found
        nonces = self.verifier.dpop_nonces
        try:
            claims = self.verifier.verify(token, dpop=dpop)
        except InvalidToken as error:
            request.token_error = error  # for authenticate_header, which DRF asks next
            if isinstance(error, UseDPoPNonce):
                request.dpop_nonce = error.nonce
            raise exceptions.AuthenticationFailed(error.description) from None
        if dpop is not None and nonces is not None:
            request.dpop_nonce = nonces.current(self.verifier.clock())
        return AgentPrincipal(claims), claims

    def authenticate_header(self, request):
        return _challenge_value(getattr(request, "token_error", None), self.realm, resource_metadata=self.verifier.resource_metadata)


class SendsDPoPNonce:
    """A DRF view mixin: each answer to a DPoP call carries the nonce to use next, refusals
    included (RFC 9449 section 9), when the view's verifier hands out nonces."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        nonce = getattr(request, "dpop_nonce", None)
        if nonce:
            response["DPoP-Nonce"] = nonce
        return response


class HasScopes(permissions.BasePermission):
    """Allows the call when the token carries every scope in the view's `required_scopes`."""

    message = "The token lacks a required scope."

    def has_permission(self, request, view):
        principal = request.user
        needed = getattr(view, "required_scopes", ())
        return isinstance(principal, AgentPrincipal) and all(scope in principal.scopes for scope in needed)


PROTECTED_RESOURCE_PATH = "/.well-known/oauth-protected-resource"


def resource_metadata_url(resource: str) -> str:
    """Where a resource's RFC 9728 metadata lives: the well-known path between its host and
    its own path (section 3.1), e.g. https://crm.example.com/.well-known/oauth-protected-resource/mcp."""
    parts = urllib.parse.urlsplit(resource)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, PROTECTED_RESOURCE_PATH + parts.path.rstrip("/"), "", ""))


def protected_resource_metadata(verifier: TokenVerifier, *, scopes_supported: Iterable[str] = (), resource_name: str | None = None,
                                dpop_bound_tokens_required: bool = False):
    """A Django view serving this resource's metadata (RFC 9728): its identifier (the audience
    its tokens carry), the portal as its authorization server, its scopes, and the token forms
    it takes. An agent or MCP client that is only told the resource's URL, or receives its 401,
    learns from it where to get a token. Route it at resource_metadata_url(audience)'s path."""
    body = {
        "resource": verifier.audience,
        "authorization_servers": [verifier.issuer],
        "bearer_methods_supported": ["header"],
        "dpop_signing_alg_values_supported": list(DPOP_ALGORITHMS),
    }
    if scopes_supported:
        body["scopes_supported"] = list(scopes_supported)
    if resource_name:
        body["resource_name"] = resource_name
    if dpop_bound_tokens_required:
        body["dpop_bound_access_tokens_required"] = True

    @require_safe
    def metadata(request):
        response = JsonResponse(body)
        response["Cache-Control"] = "public, max-age=3600"
        return response

    return metadata
