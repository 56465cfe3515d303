"""What every OAuth POST endpoint (token, revoke, introspect, task end) does before its own
work, so that whatever arrives is answered in RFC 6749 section 5.2's terms: JSON with error
and error_description, Cache-Control: no-store. Django's own answers to these requests are
an empty or HTML page, which an OAuth client cannot read."""

import functools
import re

from django.http import QueryDict

from nhiportal.conf import nhi_setting
from nhiportal.nul_bytes import UNREADABLE, UNREADABLE_ERRORS

from .errors import INVALID_CLIENT, INVALID_REQUEST, OAuthError, error_response

# RFC 9110 section 11.1: auth-scheme = token. A scheme to echo back must be one.
_AUTH_SCHEME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,40}")


def post_only(view):
    """Like Django's require_POST (405 with Allow: POST), with an RFC 6749 error body rather
    than an empty text/html one."""

    @functools.wraps(view)
    def post(request, *args, **kwargs):
        if request.method != "POST":
            error = OAuthError(INVALID_REQUEST, "This endpoint takes POST only.", status=405, headers={"Allow": "POST"})
            return error_response(error)
        return view(request, *args, **kwargs)

    return post


def form(request):
    """The request's parameters (request.POST), or an OAuthError saying why they cannot be read.

    Django parses the body on the first read and raises when it cannot (too large, too many
    fields, a form in a charset other than UTF-8, a multipart body it cannot split); uncaught,
    that is its HTML 400 page. Usually nhiportal/nul_bytes.py has read it first and answered
    already; this answers the same, in the same words, whichever reads first.
    """
    try:
        post = request.POST
    except UNREADABLE_ERRORS:
        raise OAuthError(INVALID_REQUEST, UNREADABLE) from None
    _refuse_http_authentication(request)
    return _without_empty_values(post)


def _without_empty_values(post):
    """RFC 6749 section 3.2: "Parameters sent without a value MUST be treated as if they were
    omitted from the request." (resource= beside an audience, say, or requested_token_type=)."""
    if all(value for _name, values in post.lists() for value in values):
        return post  # the usual request: nothing to copy
    kept = QueryDict(mutable=True)
    for name, values in post.lists():
        if values := [value for value in values if value]:
            kept.setlist(name, values)
    return kept


def _refuse_http_authentication(request) -> None:
    """Clients authenticate here with a signed assertion in the body only (private_key_jwt).
    One that tried an HTTP scheme (client_secret_basic, say) is refused rather than judged by
    its body alone: RFC 6749 section 2.3 allows one method per request, and section 5.2 wants
    the 401 to carry a challenge in the scheme it used."""
    authorization = request.META.get("HTTP_AUTHORIZATION", "").strip()
    if not authorization:
        return
    scheme = authorization.split(None, 1)[0]
    # A scheme that is no RFC 9110 token is not echoed (it could hold anything): the one
    # scheme RFC 6749 names for clients (section 2.3.1) is offered instead.
    scheme = scheme if _AUTH_SCHEME.fullmatch(scheme) else "Basic"
    realm = nhi_setting("ISSUER").replace("\\", "\\\\").replace('"', '\\"')
    raise OAuthError(
        INVALID_CLIENT,
        "Authenticate with private_key_jwt (client_assertion in the body), not the Authorization header.",
        headers={"WWW-Authenticate": f'{scheme} realm="{realm}"'},
    )
