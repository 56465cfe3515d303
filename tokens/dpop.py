"""DPoP (RFC 9449): access tokens bound to a key the agent holds.

A bearer token works for whoever holds it, so a token that leaks into a log works for whoever
reads the log, until it expires. An agent that sends a DPoP proof (a JWT signed with a key of
its own, naming the request's method and URL) with its token request gets a token carrying
`cnf.jkt`, the thumbprint of that key; a resource server then accepts the token only with a
fresh proof made with the same key for that very request (and the token's hash, `ath`).

Checked here, for the token endpoint and for resource servers (tokens/verifier.py) alike:
typ dpop+jwt; an asymmetric alg the key in the header is for; that key public (a private one
is refused); the signature; htm and htu equal to the request's method and URL (query and
fragment ignored); iat within the last MAX_AGE seconds (SKEW ahead allowed); a jti; and, at a
resource server, ath. The token endpoint does not remember proof jtis: each token request also
carries a single-use client assertion, so a replayed proof gets nothing. Resource servers do
remember them (ProofReplayCache), since a token is presented many times.

Server nonces (RFC 9449 sections 8 and 9), where switched on (Nonces): a proof must also carry
a nonce the server handed out lately, so a proof made ahead of time by someone who briefly had
the agent's key is useless once its nonce is stale. A proof without one is refused with
`use_dpop_nonce` and a `DPoP-Nonce` header to retry with.
"""

import base64
import hashlib
import hmac
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from .jws import ALGORITHMS, JWSError, parse
from .public_keys import parse_public_jwk

PROOF_TYPE = "dpop+jwt"
SIGNING_ALGORITHMS = tuple(sorted(ALGORITHMS))  # what the discovery document and challenges list
MAX_AGE = 60  # seconds a proof is accepted after it was made
_HEX = re.compile(r"[0-9a-f]+")
SKEW = 5  # seconds a proof may claim to come from the future (clocks drift)
MAX_JTI = 255


class InvalidProof(Exception):
    """Why a proof was refused; safe to send back (it never echoes the proof)."""

    def __init__(self, description: str):
        super().__init__(description)
        self.description = description


class NonceRequired(InvalidProof):
    """The proof lacks a current server nonce: `nonce` is the one to make it again with."""

    def __init__(self, description: str, nonce: str):
        super().__init__(description)
        self.nonce = nonce


class Nonces:
    """Server-provided DPoP nonces, kept nowhere. A nonce is the number of the time window it
    was made in and an HMAC of that number under a secret, so every worker and host sharing the
    secret hands out and accepts the same nonces without a shared store. A nonce is accepted in
    its own window and the next, so it lives between `lifetime` and twice that."""

    def __init__(self, secret: bytes, lifetime: int = 300):
        if lifetime <= 0:
            raise ValueError("A nonce lifetime is a positive number of seconds.")
        self._secret = secret
        self.lifetime = lifetime
        self._latest: tuple[int, str] = (-1, "")

    def _make(self, window: int) -> str:
        mac = hmac.new(self._secret, b"dpop-nonce:%d" % window, hashlib.sha256).digest()[:16]
        return f"{window:x}.{_b64(mac)}"

    def current(self, now: float | None = None) -> str:
        window = int((time.time() if now is None else now) // self.lifetime)
        latest = self._latest  # one tuple, read and replaced whole: safe across threads
        if latest[0] != window:
            latest = self._latest = (window, self._make(window))
        return latest[1]

    def accepts(self, nonce, now: float) -> bool:
        if not isinstance(nonce, str) or len(nonce) > 64:
            return False
        head, dot, _ = nonce.partition(".")
        # ASCII hex only: int() takes other scripts' digits, and compare_digest no non-ASCII text.
        if not dot or not nonce.isascii() or _HEX.fullmatch(head) is None:
            return False
        try:
            window = int(head, 16)
        except ValueError:
            return False
        current = int(now // self.lifetime)
        return window in (current, current - 1) and hmac.compare_digest(nonce, self._make(window))


@dataclass(frozen=True)
class Proof:
    jkt: str  # RFC 7638 thumbprint of the proof's public key: what cnf.jkt binds to
    jti: str
    iat: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def access_token_hash(access_token: str) -> str:
    """ath: base64url(SHA-256(the access token's ASCII))."""
    return _b64(hashlib.sha256(access_token.encode("ascii", "replace")).digest())


def _without_query(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))


def check_proof(proof, *, method: str, urls, now: float | None = None, access_token: str | None = None,
                nonces: Nonces | None = None) -> Proof:
    """The proof's key thumbprint and jti if it proves this request (one of `urls`, as the
    client may know the endpoint by another name than the server), and carries a current
    nonce when `nonces` are asked for; InvalidProof (NonceRequired for the nonce) otherwise."""
    if not isinstance(proof, str) or not proof:
        raise InvalidProof("The DPoP proof is missing.")
    try:
        jws = parse(proof)
    except JWSError:
        raise InvalidProof("The DPoP proof is not a compact JWT.") from None
    header, claims = jws.header, jws.claims
    if header.get("typ") != PROOF_TYPE:
        raise InvalidProof(f"The DPoP proof's typ must be {PROOF_TYPE}.")
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise InvalidProof(f"The DPoP proof must be signed with one of {', '.join(SIGNING_ALGORITHMS)}.")
    try:
        key = parse_public_jwk(header.get("jwk") if isinstance(header.get("jwk"), dict) else "", proof_alg=alg)
    except ValidationError as error:
        if error.code == "private_key":
            raise InvalidProof("The DPoP proof's jwk holds a private key: send the public key only, and replace this one.") from None
        raise InvalidProof("The DPoP proof's jwk header is not a usable public key.") from None
    if alg not in key.algorithms or not jws.verify(key.key, alg):
        raise InvalidProof("The DPoP proof's signature does not verify with its jwk.")
    if claims.get("htm") != method:
        raise InvalidProof(f"The DPoP proof's htm must be {method}.")
    htu = claims.get("htu")
    try:
        named = isinstance(htu, str) and _without_query(htu) in {_without_query(u) for u in urls}
    except ValueError:  # not a URL urlsplit can read (an unclosed IPv6 bracket, say)
        named = False
    if not named:
        raise InvalidProof("The DPoP proof's htu is not this endpoint's URL.")
    iat = claims.get("iat")
    now = time.time() if now is None else now
    if not isinstance(iat, (int, float)) or isinstance(iat, bool) or not now - MAX_AGE <= iat <= now + SKEW:
        raise InvalidProof(f"The DPoP proof's iat must be the time it was made (within {MAX_AGE} seconds).")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 1 <= len(jti) <= MAX_JTI:
        raise InvalidProof("The DPoP proof needs a jti.")
    if access_token is not None and claims.get("ath") != access_token_hash(access_token):
        raise InvalidProof("The DPoP proof's ath is not this access token's hash.")
    if nonces is not None and not nonces.accepts(claims.get("nonce"), now):
        if "nonce" in claims:
            raise NonceRequired("The DPoP proof's nonce is stale: make the proof again with the nonce in the DPoP-Nonce header.", nonces.current(now))
        raise NonceRequired("The DPoP proof needs a nonce: make it again with the nonce in the DPoP-Nonce header.", nonces.current(now))
    return Proof(key.thumbprint, jti, int(iat))


class ReplayCacheFull(InvalidProof):
    """Every remembered proof could still be presented again: none is forgotten early."""


class ProofReplayCache:
    """A resource server's memory of the proof jtis it accepted, each kept until its proof is
    refused on age anyway (RFC 9449 section 11.1). Bounded: when full, the proofs past their
    age go; if none is, a new proof is refused (ReplayCacheFull) rather than any forgotten
    early, which would let a caller who floods the cache with its own proofs replay another's."""

    def __init__(self, max_entries: int = 100_000):
        self._seen: dict[tuple[str, str], float] = {}  # -> when its proof is too old to accept
        self._max = max_entries
        self._lock = threading.Lock()

    def first_use(self, proof: Proof, now: float) -> bool:
        key = (proof.jkt, proof.jti)
        with self._lock:
            if key in self._seen:
                return False
            if len(self._seen) >= self._max:
                self._seen = {k: until for k, until in self._seen.items() if until >= now}
                if len(self._seen) >= self._max:
                    raise ReplayCacheFull("Too many DPoP proofs in the last minute: try again shortly.")
            self._seen[key] = max(proof.iat, now) + MAX_AGE
            return True
