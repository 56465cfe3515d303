"""Token introspection (RFC 7662) for registered services.

A service authenticates with private_key_jwt: client_id = its audience, the assertion signed
by the key registered on the service (Service.introspection_jwk). It learns about tokens
for its own audience only; any other token is simply "active": false.
"""

from django.db import transaction
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..access_tokens import InvalidAccessToken, verify_access_token
from ..models import IssuedToken
from .client_auth import authenticate_service, consume
from .errors import INVALID_REQUEST, OAuthError, error_response, no_store
from .metadata import assertion_audiences
from .params import unique_param

INACTIVE = {"active": False}


def introspect(token: str, audience: str) -> dict:
    """The token's claims if it is live and meant for this audience; otherwise inactive."""
    try:
        claims = verify_access_token(token)
    except InvalidAccessToken:
        return INACTIVE
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if audience not in audiences:
        return INACTIVE
    live = IssuedToken.objects.filter(jti=claims["jti"], revoked_at__isnull=True, expires_at__gt=timezone.now()).exists()
    if not live:
        return INACTIVE
    return {"active": True, "token_type": "Bearer", **claims}


@csrf_exempt
@require_POST
def introspection(request):
    post = request.POST
    try:
        client = authenticate_service(post, audiences=assertion_audiences("oauth:introspect"))
        token = unique_param(post, "token")
        if not token:
            raise OAuthError(INVALID_REQUEST, "token is required.")
        with transaction.atomic():
            consume(client)
    except OAuthError as error:
        return error_response(error)
    return no_store(JsonResponse(introspect(token, client.service.audience)))
