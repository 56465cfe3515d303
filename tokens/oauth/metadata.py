"""Discovery: the authorization server metadata (RFC 8414) and the JWKS."""

import functools
from functools import lru_cache

from django.conf import settings
from django.http import JsonResponse
from django.urls import get_script_prefix, get_urlconf, reverse

from nhiportal.conf import nhi_setting

from ..dpop import SIGNING_ALGORITHMS as DPOP_ALGORITHMS
from ..keys import published_jwks
from ..models import ServiceScope
from ..public_keys import ALGORITHMS
from .errors import INVALID_REQUEST, OAuthError, error_response
from .params import AGENT_TASK

# Every algorithm some key may be registered for; each key is used with exactly one of them
# (its JWK's "alg", else its type's default: tokens/public_keys.py).
CLIENT_ASSERTION_ALGORITHMS = sorted({alg for algs in ALGORITHMS.values() for alg in algs})
# Verifiers may cache the JWKS this long. A key is published as `next` at least one rotation
# before it signs and stays published as `retiring` until its tokens expired, so a verifier
# refreshing on this schedule (or on an unknown kid) never meets a key it cannot find.
JWKS_MAX_AGE = 300
METADATA_MAX_AGE = 300


def endpoint_url(name: str) -> str:
    """An endpoint's absolute URL under the configured issuer (what assertions' aud names)."""
    return nhi_setting("ISSUER").rstrip("/") + reverse(name)


def assertion_audiences(endpoint: str) -> list[str]:
    """What a client assertion may name as aud: the endpoint it is sent to, the token endpoint, or the issuer."""
    # Asked on every token and introspection request, where two reverse() calls cost as much
    # as the rest of the view's own work; the answer changes only with what the key names.
    return list(_audiences(nhi_setting("ISSUER"), endpoint, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF))


@lru_cache(maxsize=64)
def _audiences(issuer: str, endpoint: str, script_prefix: str, urlconf) -> tuple[str, ...]:
    return tuple(dict.fromkeys([endpoint_url(endpoint), endpoint_url("oauth:token"), issuer]))


def cached(response, max_age: int):
    response["Cache-Control"] = f"public, max-age={max_age}"
    return response


def get_only(view):
    """Like Django's require_safe (GET and HEAD, RFC 9110 section 9.1; 405 otherwise), with an
    RFC 6749 error body, as the POST endpoints answer theirs (endpoint.post_only), rather than an
    empty text/html one an OAuth client cannot read."""

    @functools.wraps(view)
    def safe(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            error = OAuthError(INVALID_REQUEST, "This endpoint takes GET (or HEAD) only.", status=405, headers={"Allow": "GET, HEAD"})
            return error_response(error)
        return view(request, *args, **kwargs)

    return safe


@get_only
def authorization_server_metadata(request):
    auth = {"methods": ["private_key_jwt"], "algs": CLIENT_ASSERTION_ALGORITHMS}
    metadata = {
        "issuer": nhi_setting("ISSUER"),
        "token_endpoint": endpoint_url("oauth:token"),
        "jwks_uri": endpoint_url("oauth:jwks"),
        "introspection_endpoint": endpoint_url("oauth:introspect"),
        "revocation_endpoint": endpoint_url("oauth:revoke"),
        # Not an RFC 8414 name: where an agent ends its task (see the README in tokens/).
        "task_end_endpoint": endpoint_url("oauth:task-end"),
        "grant_types_supported": ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"],
        "response_types_supported": [],  # no authorization endpoint: agents never redirect a browser
        # JWT-SVIDs sent as client_assertion_type jwt-spiffe (draft-ietf-oauth-spiffe-client-auth)
        # add nothing here: the draft defines no server metadata and no auth method name, only
        # client metadata (spiffe_id, spiffe_bundle_endpoint), which here are an identity's SPIFFE
        # credential and its trust domain's bundle endpoint.
        "token_endpoint_auth_methods_supported": auth["methods"],
        "token_endpoint_auth_signing_alg_values_supported": auth["algs"],
        "introspection_endpoint_auth_methods_supported": auth["methods"],
        "introspection_endpoint_auth_signing_alg_values_supported": auth["algs"],
        "revocation_endpoint_auth_methods_supported": auth["methods"],
        "revocation_endpoint_auth_signing_alg_values_supported": auth["algs"],
        "scopes_supported": sorted(set(ServiceScope.objects.filter(service__is_active=True).values_list("name", flat=True))),
        "authorization_details_types_supported": [AGENT_TASK],
        # RFC 9449: a DPoP proof with the token request binds the token to the agent's key.
        "dpop_signing_alg_values_supported": list(DPOP_ALGORITHMS),
        # draft-ietf-oauth-status-list: each token's `status` claim names its list; this lists them all.
        "status_list_aggregation_endpoint": endpoint_url("oauth:status-lists"),
    }
    return cached(JsonResponse(metadata), METADATA_MAX_AGE)


@get_only
def jwks(request):
    return cached(JsonResponse(published_jwks()), JWKS_MAX_AGE)
