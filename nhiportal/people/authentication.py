"""DRF authentication by personal API token: `Authorization: Bearer nhip_...`."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import TOKEN_PREFIX, PersonalAPIToken, TokenPurpose, hash_api_token
from .second_factor import TOKEN_LACKS_SECOND_FACTOR, token_lacks_second_factor

# Writing last_used_at on every call would make each API read a write; a minute is precise enough.
LAST_USED_PRECISION = timedelta(minutes=1)


def record_use(token) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        PersonalAPIToken.objects.filter(pk=token.pk).update(last_used_at=now)


# The schemes a token is sent in: an agent's DPoP-bound access token comes as "DPoP".
BEARER_SCHEMES = ("bearer", "dpop")
NOT_A_PERSONAL_TOKEN = (
    f"This API takes a person's API token ({TOKEN_PREFIX}…); agents' access tokens are for services, "
    "and the portal's own endpoints for agents are under /oauth/."
)


class PersonalTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, raw = header.partition(" ")
        raw = raw.strip()
        # Auth schemes are case-insensitive (RFC 9110 section 11.1).
        if scheme.lower() not in BEARER_SCHEMES or not raw:
            return None  # not ours: let other authenticators (or none) answer
        if not raw.startswith(TOKEN_PREFIX):
            # Credentials were sent, only not a person's: most often an agent's access token
            # (a JWT, maybe DPoP-bound) sent to the portal instead of to a service.
            raise exceptions.AuthenticationFailed(NOT_A_PERSONAL_TOKEN)
        token = (
            PersonalAPIToken.objects.select_related("user")
            .filter(token_hash=hash_api_token(raw))
            .first()
        )
        if token is None or not token.is_usable:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API token.")
        if token.purpose != TokenPurpose.API:
            raise exceptions.AuthenticationFailed("This token is for directory sync (SCIM) only.")
        if token_lacks_second_factor(token):
            raise exceptions.AuthenticationFailed(TOKEN_LACKS_SECOND_FACTOR)
        record_use(token)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
