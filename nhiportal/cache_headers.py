"""Responses with a signed-in person's data are kept by no cache.

Inventory pages, API answers and CSV/JSON exports hold who owns which agent, its grants and
credentials. Without a Cache-Control header a shared proxy may keep them and serve them to the
next person, and a browser may show them again from its back/forward cache after sign-out. So
every response to a signed-in request (a session, or a credential in the Authorization header:
an API token, a directory sync token), and every /api/ response, gets Django's never-cache
headers (Cache-Control: max-age=0, no-cache, no-store, must-revalidate, private; Expires now),
unless its view already chose a Cache-Control of its own.

Left alone: static files (whitenoise answers them before this middleware is reached),
/healthz and /metrics, and the public OAuth discovery, JWKS and status lists, which set a
max-age so verifiers can keep them.

It sits before MachineEndpointsMiddleware, which sends programs' paths straight to the view,
so API tokens on /scim/ and the OAuth endpoints are covered too; there, no session is read, since
AuthenticationMiddleware never ran and the request has no user.
"""

from django.utils.cache import add_never_cache_headers

LEFT_ALONE = ("/healthz", "/metrics")


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.has_header("Cache-Control") or request.path_info.startswith(LEFT_ALONE):
            return response
        if request.path_info.startswith("/api/") or _signed_in(request):
            add_never_cache_headers(response)
        return response


def _signed_in(request) -> bool:
    if "HTTP_AUTHORIZATION" in request.META:
        return True
    # Read after the view: a sign-in has set the person by now, a sign-out has cleared it (and
    # set its own no-store). DRF sets the token's person on this request too.
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)
