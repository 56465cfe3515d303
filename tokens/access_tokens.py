"""The portal's access tokens (RFC 9068 JWTs): signing, and checking one the portal issued.

Only the token endpoint signs; exchange, introspection and revocation read tokens back
through `verify_access_token`, which accepts nothing but an at+jwt signed by one of the
portal's published keys, for this issuer.
"""

import base64
import json
import time
from functools import lru_cache

from nhiportal.conf import nhi_setting

from .jws import ALGORITHMS, ClaimsError, JWSError, check_claims, parse
from .keys import Signer, verification_key

ACCESS_TOKEN_TYP = "at+jwt"
LEEWAY = 30  # seconds of clock skew tolerated on exp, nbf and iat
REQUIRED = ("iss", "sub", "aud", "exp", "iat", "jti", "client_id")


class InvalidAccessToken(Exception):
    """Not a live access token of this portal. The reason is for logs and tests, never the caller."""


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@lru_cache(maxsize=8)
def _header_segment(kid: str, alg: str) -> bytes:
    # The header is the same for every token a key signs: encode it once.
    return _b64(json.dumps({"alg": alg, "kid": kid, "typ": ACCESS_TOKEN_TYP}, separators=(",", ":")).encode())


def sign_access_token(claims: dict, signer: Signer) -> str:
    signing_input = _header_segment(signer.kid, signer.alg) + b"." + _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = ALGORITHMS[signer.alg].sign(signing_input, signer.private_key)
    return (signing_input + b"." + _b64(signature)).decode()


def verify_access_token(token: str, *, verify_exp: bool = True) -> dict:
    """The claims of an access token this portal signed, or InvalidAccessToken."""
    return signed_access_token(token, verify_exp=verify_exp)[0]


def signed_access_token(token: str, *, verify_exp: bool = True) -> tuple[dict, str]:
    """The claims of an access token this portal signed and the kid of the key that signed it,
    or InvalidAccessToken."""
    try:
        jws = parse(token)
    except JWSError as e:
        raise InvalidAccessToken(str(e)) from e
    if str(jws.header.get("typ", "")).lower() not in (ACCESS_TOKEN_TYP, "application/at+jwt"):
        raise InvalidAccessToken("not an access token (typ)")
    kid = jws.header.get("kid")
    key = verification_key(kid) if isinstance(kid, str) and len(kid) <= 64 else None
    if key is None:
        raise InvalidAccessToken("unknown kid")
    alg, public_key = key
    if not jws.verify(public_key, alg):
        raise InvalidAccessToken("bad signature")
    claims = jws.claims
    checked = claims if verify_exp else {k: v for k, v in claims.items() if k != "exp"}
    required = REQUIRED if verify_exp else tuple(r for r in REQUIRED if r != "exp")
    try:
        check_claims(checked, now=time.time(), leeway=LEEWAY, issuer=nhi_setting("ISSUER"), require=required)
    except ClaimsError as e:
        raise InvalidAccessToken(str(e)) from e
    return claims, kid
