"""Token Status List (draft-ietf-oauth-status-list): revocation that reaches offline verifiers.

A resource server verifying tokens offline, from the JWKS, cannot see a revocation until the
token expires (up to TOKEN_TTL_CEILING). Each token therefore names its place in a status
list (its `status` claim); the portal publishes each list as a signed JWT of one bit per
token, 1 for revoked, and verifiers fetch it again every STATUS_LIST_TTL seconds. A leaked
or ended token is then refused everywhere within that time, without a call per request.

A token's place is its ledger row's id: list id // LIST_SIZE, index id % LIST_SIZE. The
id is known once the row is written, inside the issuing transaction, so numbering costs
issuance nothing more than the insert it already does; ids are never reused, so a list's
bits only ever go from 0 to 1 while its tokens live. Pruned rows read as 0: their tokens
have expired, which every verifier checks anyway.
"""

import base64
import zlib

import jwt
from django.utils import timezone

from nhiportal.conf import nhi_setting

from .keys import active_signer
from .models import IssuedToken

TYP = "statuslist+jwt"
CONTENT_TYPE = "application/statuslist+jwt"
REVOKED = 1  # "INVALID" in the draft's status types; 0 is "VALID"
# Tokens per list (128 KiB of bits before compression; a list of few revocations compresses to
# a few hundred bytes). Fixed: signed tokens name their list and index by it for good.
LIST_SIZE = 1 << 20


def list_uri(number: int) -> str:
    return f"{nhi_setting('ISSUER').rstrip('/')}/oauth/status/{number}"


def reference(token_id: int) -> dict:
    """The `status` claim of the token whose ledger row has this id."""
    return {"status_list": {"idx": token_id % LIST_SIZE, "uri": list_uri(token_id // LIST_SIZE)}}


def exists(number: int) -> bool:
    """Whether any token was ever numbered in this list (it or a later one has begun)."""
    return IssuedToken.objects.filter(pk__gte=number * LIST_SIZE).exists()


def revoked_indexes(number: int, now) -> list[int]:
    """The indexes in list `number` of tokens revoked before they expired."""
    first = number * LIST_SIZE
    # Served by a partial index on revoked rows, so the list costs what was revoked, not what was issued.
    ids = IssuedToken.objects.filter(
        pk__gte=first, pk__lt=first + LIST_SIZE, revoked_at__isnull=False, expires_at__gt=now
    ).values_list("pk", flat=True)
    return [pk - first for pk in ids]


def encoded(indexes, size: int) -> str:
    """The list's `lst`: one bit per token, index 0 in the least significant bit of byte 0,
    DEFLATE in the ZLIB format, base64url without padding (the draft's section 4)."""
    bits = bytearray((size + 7) // 8)
    for index in indexes:
        bits[index >> 3] |= REVOKED << (index & 7)
    return base64.urlsafe_b64encode(zlib.compress(bytes(bits), 9)).rstrip(b"=").decode()


def status_list_token(number: int) -> str:
    """List `number` as a Status List Token, signed with the key that signs access tokens."""
    now = timezone.now()
    issued, ttl = int(now.timestamp()), nhi_setting("STATUS_LIST_TTL")
    claims = {
        "iss": nhi_setting("ISSUER"),
        "sub": list_uri(number),
        "iat": issued,
        # Past exp a verifier refuses the list, and with it the tokens it names, rather than
        # trust old news for long: a few fetches may fail before that.
        "exp": issued + max(10 * ttl, 300),
        "ttl": ttl,
        "status_list": {"bits": 1, "lst": encoded(revoked_indexes(number, now), LIST_SIZE)},
    }
    signer = active_signer()
    return jwt.encode(claims, signer.private_key, algorithm=signer.alg, headers={"kid": signer.kid, "typ": TYP})
