"""Compact JWS, parsed once: what every signed JWT the portal reads goes through.

PyJWT's decode validates each base64url segment one character at a time in Python and
parses the token again for every call (header, then payload): over a millisecond per
token, more than the signature check itself. Here a token is split, checked against the
base64url alphabet by one regular expression and decoded once; the signature is checked
with PyJWT's algorithm objects (the same cryptography calls jwt.decode makes); the claims
are checked below. The algorithm is always chosen by the caller from the key, never read
from the token: "none" and HS* are not in ALGORITHMS, so they cannot verify.
"""

import base64
import binascii
import re
from dataclasses import dataclass

from jwt.algorithms import get_default_algorithms

from nhiportal import json_input

ALGORITHMS = {name: alg for name, alg in get_default_algorithms().items() if name in ("ES256", "EdDSA", "RS256", "PS256")}
# RFC 9864: "Ed25519" is the fully specified name of EdDSA over Ed25519, the one curve taken
# here; libraries that follow it (joserfc) sign with that name and refuse "EdDSA" by default.
ALGORITHMS["Ed25519"] = ALGORITHMS["EdDSA"]
_SEGMENT = re.compile(rb"[A-Za-z0-9_-]*")
MAX_TOKEN_BYTES = 16_384


class JWSError(Exception):
    """Why a token was refused: for logs and tests; callers choose what to tell the client."""


@dataclass(frozen=True)
class CompactJWS:
    header: dict
    claims: dict
    signing_input: bytes
    signature: bytes

    def verify(self, key, alg: str) -> bool:
        """True if signed by key with alg (the alg the key is registered for, which the header must name)."""
        algorithm = ALGORITHMS.get(alg)
        if algorithm is None or self.header.get("alg") != alg:
            return False
        return algorithm.verify(self.signing_input, key, self.signature)


def _b64decode(segment: bytes) -> bytes:
    if _SEGMENT.fullmatch(segment) is None or len(segment) % 4 == 1:
        raise JWSError("not base64url")
    try:
        return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise JWSError("not base64url") from None


def _json_object(data: bytes, what: str) -> dict:
    try:
        value = json_input.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise JWSError(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise JWSError(f"{what} is not a JSON object")
    return value


def parse(token) -> CompactJWS:
    """Split and decode a compact JWS without trusting anything in it yet."""
    if isinstance(token, str):
        token = token.encode("ascii", "replace")
    if not isinstance(token, bytes) or len(token) > MAX_TOKEN_BYTES or token.count(b".") != 2:
        raise JWSError("not a compact JWS")
    header_b64, payload_b64, signature_b64 = token.split(b".")
    header = _json_object(_b64decode(header_b64), "header")
    if "crit" in header:
        raise JWSError("unsupported critical header")  # RFC 7515 4.1.11: we understand no extension
    if not isinstance(header.get("alg"), str):  # RFC 7515 4.1.1: required, a string
        raise JWSError("no alg")
    claims = _json_object(_b64decode(payload_b64), "payload")
    return CompactJWS(header, claims, header_b64 + b"." + payload_b64, _b64decode(signature_b64))


# The last second a datetime holds (9999-12-31T23:59:59Z): a NumericDate past it means nothing.
LATEST = 253_402_300_799


def _number(value) -> bool:
    """A NumericDate (RFC 7519 section 2): a number, finite and a datetime's (no 1e400, no 10**400)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and -LATEST <= value <= LATEST


class ClaimsError(JWSError):
    def __init__(self, claim: str, problem: str):
        super().__init__(f"{claim}: {problem}")
        self.claim, self.problem = claim, problem


def check_claims(
    claims: dict,
    *,
    now: float,
    leeway: int,
    audiences=None,
    issuer: str | None = None,
    subject: str | None = None,
    require=("exp",),
) -> None:
    """RFC 7519 checks: required claims present; exp, nbf, iat against now with leeway; iss, sub, aud."""
    for name in require:
        if name not in claims:
            raise ClaimsError(name, "missing")
    for name in ("exp", "nbf", "iat"):
        if name in claims and not _number(claims[name]):
            raise ClaimsError(name, "not a number")
    if "exp" in claims and claims["exp"] <= now - leeway:
        raise ClaimsError("exp", "expired")
    for name in ("nbf", "iat"):
        if name in claims and claims[name] > now + leeway:
            raise ClaimsError(name, "in the future")
    if issuer is not None and claims.get("iss") != issuer:
        raise ClaimsError("iss", "wrong issuer")
    if subject is not None and claims.get("sub") != subject:
        raise ClaimsError("sub", "wrong subject")
    if audiences is not None:
        aud = claims.get("aud")
        named = [aud] if isinstance(aud, str) else aud
        if not isinstance(named, list) or not any(isinstance(a, str) and a in audiences for a in named):
            raise ClaimsError("aud", "wrong audience")
