"""Requests that carry a NUL character are refused at the door, with a 400 in the caller's own
terms: an RFC 6749 error on the OAuth endpoints, a SCIM error, the API's {"detail"}, a page.

No field of the portal takes one, and PostgreSQL refuses U+0000 in text and jsonb, so a NUL
that reached a query or a write was a 500 there (and a stored oddity on SQLite). One check
here, before any view, rather than one per field: it reads the query string, the path and a
form or JSON body (as %00, \\u0000 or the raw byte); a multipart form's fields once parsed.
"""

import json

from csp.middleware import CSPMiddleware
from django.core.exceptions import BadRequest, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.template.loader import render_to_string

REASON = "The request holds a NUL character (U+0000), which no field takes."
UNREADABLE = (
    "The request body cannot be read: send the parameters form-encoded (application/x-www-form-urlencoded) in UTF-8, "
    "within the size and parameter limits."
)
# The API and SCIM take JSON (and the API a multipart upload), not a form.
UNREADABLE_BODY = "The request body cannot be read: send JSON, or a whole multipart form, in UTF-8 and within the size limits."
UNREADABLE_ERRORS = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent, MultiPartParserError, BadRequest, UnicodeDecodeError)
_FORM_BODY = (b"%00", b"\x00")
_JSON_BODY = (b"\\u0000", b"\x00")
_WITH_BODY = ("POST", "PUT", "PATCH", "DELETE")


def _holds_nul(request) -> bool:
    if "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.path_info:
        return True
    if request.method not in _WITH_BODY:
        return False
    content_type = request.content_type or ""
    if content_type == "multipart/form-data":
        return any("\x00" in value for values in request.POST.lists() for value in values[1])
    if content_type == "application/x-www-form-urlencoded":
        needles = _FORM_BODY
    elif content_type.endswith("json"):
        needles = _JSON_BODY
    else:
        return False
    body = request.body
    return any(needle in body for needle in needles)


def _oauth_error(description: str) -> HttpResponse:
    response = JsonResponse({"error": "invalid_request", "error_description": description}, status=400)
    response["Cache-Control"] = "no-store"
    return response


def _page_refusal(request, reason: str) -> HttpResponse:
    """The 400 page, with the headers every page gets (this answers before their middleware):
    the content security policy and X-Frame-Options, set by those same middleware."""
    page = HttpResponse(render_to_string("400.html", {"reason": reason}), status=400)
    return XFrameOptionsMiddleware(CSPMiddleware(lambda _request: page))(request)


def _refusal(request, reason: str = REASON) -> HttpResponse:
    path = request.path_info
    if path.startswith("/oauth/"):
        return _oauth_error(reason)
    if path.startswith("/scim/"):
        error = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400", "scimType": "invalidValue", "detail": reason}
        return HttpResponse(json.dumps(error), status=400, content_type="application/scim+json")
    if path.startswith("/api/"):
        return JsonResponse({"detail": reason}, status=400)
    return _page_refusal(request, reason)


class NulBytesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            holds_nul = _holds_nul(request)
        except UNREADABLE_ERRORS:
            # Read here before any view, so the OAuth views' own handling of an unreadable body
            # (tokens/oauth/endpoint.py) never sees the exception: answer in their terms, and
            # the API's and SCIM's in theirs (Django's own answer is an HTML page).
            path = request.path_info
            if path.startswith("/oauth/"):
                return _oauth_error(UNREADABLE)
            if path.startswith(("/api/", "/scim/")):
                return _refusal(request, UNREADABLE_BODY)
            raise  # a page's: Django's 400 page, as for any other body it cannot read
        if holds_nul:
            return _refusal(request)
        return self.get_response(request)
