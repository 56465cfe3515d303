"""The portal's access tokens (RFC 9068 JWTs): signing, and checking one the portal issued.

Only the token endpoint signs; exchange, introspection and revocation read tokens back
through `verify_access_token`, which accepts nothing but an at+jwt signed by one of the
portal's published keys, for this issuer.
"""

import jwt

from nhiportal.conf import nhi_setting

from .keys import Signer, verification_key

ACCESS_TOKEN_TYP = "at+jwt"
LEEWAY = 30  # seconds of clock skew tolerated on exp, nbf and iat


class InvalidAccessToken(Exception):
    """Not a live access token of this portal. The reason is for logs and tests, never the caller."""


def sign_access_token(claims: dict, signer: Signer) -> str:
    return jwt.encode(claims, signer.private_key, algorithm=signer.alg, headers={"kid": signer.kid, "typ": ACCESS_TOKEN_TYP})


def verify_access_token(token: str, *, verify_exp: bool = True) -> dict:
    """The claims of an access token this portal signed, or InvalidAccessToken."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as e:
        raise InvalidAccessToken("malformed") from e
    if str(header.get("typ", "")).lower() not in (ACCESS_TOKEN_TYP, "application/at+jwt"):
        raise InvalidAccessToken("not an access token (typ)")
    key = verification_key(str(header.get("kid", ""))[:64])
    if key is None:
        raise InvalidAccessToken("unknown kid")
    alg, public_key = key
    try:
        return jwt.decode(
            token,
            public_key,
            algorithms=[alg],
            issuer=nhi_setting("ISSUER"),
            leeway=LEEWAY,
            options={
                "verify_aud": False,  # each caller checks the audience it cares about
                "verify_exp": verify_exp,
                "require": ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"],
            },
        )
    except jwt.PyJWTError as e:
        raise InvalidAccessToken(str(e)) from e
