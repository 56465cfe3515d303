"""Token introspection (RFC 7662) for registered services.

A service authenticates with private_key_jwt: client_id = its audience, the assertion signed
by the key registered on the service (Service.introspection_jwk), reusable until it expires.
It learns about tokens for its own audience only; any other token is simply "active": false.

Nothing here writes: a token's signature is checked once per process (tokens never change),
and whether it is still live is read from the ledger on every call.
"""

from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters

from .. import hot_path
from ..access_tokens import InvalidAccessToken, signed_access_token
from .client_auth import authenticate_service
from .endpoint import form, post_only
from .errors import INVALID_REQUEST, OAuthError, error_response, no_store
from .metadata import assertion_audiences
from .params import unique_param

INACTIVE = {"active": False}
MAX_VERIFIED = 10_000
_verified: dict[str, tuple[dict, str]] = {}  # token -> its claims and signing kid, signature checked


def _signed(token: str) -> tuple[dict, str] | None:
    signed = _verified.get(token)
    if signed is None:
        try:
            signed = signed_access_token(token)
        except InvalidAccessToken:
            return None
        if len(_verified) >= MAX_VERIFIED:
            _verified.clear()
        _verified[token] = signed
    return signed


def introspect(token: str, audience: str) -> dict:
    """The token's claims if it is live and meant for this audience; otherwise inactive."""
    signed = _signed(token)
    if signed is None:
        return INACTIVE
    claims, kid = signed
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if audience not in audiences:
        return INACTIVE
    if not hot_path.token_live(str(claims["jti"]), kid, timezone.now()):
        return INACTIVE
    # A DPoP-bound token says so, and its cnf tells the service which key must prove it (RFC 9449 6.2).
    return {"active": True, "token_type": "DPoP" if "cnf" in claims else "Bearer", **claims}


@csrf_exempt
@post_only
@sensitive_post_parameters("client_assertion", "token")
def introspection(request):
    try:
        post = form(request)
        client = authenticate_service(post, audiences=assertion_audiences("oauth:introspect"))
        token = unique_param(post, "token")
        if not token:
            raise OAuthError(INVALID_REQUEST, "token is required.")
    except OAuthError as error:
        return error_response(error)
    return no_store(JsonResponse(introspect(token, client.service.audience)))
