"""RFC 6749 section 5.2 error responses, shared by every OAuth endpoint."""

import re

from django.http import JsonResponse

INVALID_REQUEST = "invalid_request"
INVALID_CLIENT = "invalid_client"
UNAUTHORIZED_CLIENT = "unauthorized_client"
UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
INVALID_SCOPE = "invalid_scope"
ACCESS_DENIED = "access_denied"
INVALID_TARGET = "invalid_target"  # RFC 8707
INVALID_AUTHORIZATION_DETAILS = "invalid_authorization_details"  # RFC 9396
UNSUPPORTED_TOKEN_TYPE = "unsupported_token_type"  # RFC 7009
# RFC 8628 section 3.5 (registered in the OAuth extensions error registry): ask again later.
# Here: a person has yet to approve the task; the body carries its task_id to ask with.
AUTHORIZATION_PENDING = "authorization_pending"
# RFC 8628 section 3.5, registered for token endpoint responses: the client asks too often.
# Here with 429 and Retry-After, when an identity passes its token rate limit.
SLOW_DOWN = "slow_down"
INVALID_DPOP_PROOF = "invalid_dpop_proof"  # RFC 9449 section 5
USE_DPOP_NONCE = "use_dpop_nonce"  # RFC 9449 section 8: retry with the DPoP-Nonce header's nonce


class OAuthError(Exception):
    """An error the caller can act on. The description never names policies, keys or other clients."""

    def __init__(self, error: str, description: str, status: int | None = None, *, headers: dict | None = None, **members):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status or (401 if error == INVALID_CLIENT else 400)
        self.headers = headers or {}
        # Extra members of the error body (RFC 6749 section 5.2 lets extensions add them).
        self.members = members


# RFC 6749 section 5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ). Descriptions
# may quote what the caller sent (a field name, a parser's message), so anything else in one
# is replaced as it is answered: quotes and backslashes by their look-alikes, the rest by "?".
_DESCRIPTION_LOOKALIKES = str.maketrans({'"': "'", "\\": "/", "\t": " ", "\n": " ", "\r": " "})
_OUTSIDE_DESCRIPTION = re.compile(r"[^\x20\x21\x23-\x5B\x5D-\x7E]")


def description_text(description: str) -> str:
    """`description` in the characters an error_description may hold."""
    return _OUTSIDE_DESCRIPTION.sub("?", description.translate(_DESCRIPTION_LOOKALIKES))


def no_store(response):
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def error_response(error: OAuthError) -> JsonResponse:
    # invalid_client answers 401 (RFC 6749 section 5.2 allows it). A client that authenticated in
    # the body (private_key_jwt) gets no WWW-Authenticate challenge: it used no HTTP scheme. One
    # that sent an Authorization header gets one in its scheme (endpoint.form adds it).
    response = JsonResponse({"error": error.error, "error_description": description_text(error.description), **error.members}, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return no_store(response)
