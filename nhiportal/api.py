"""API plumbing shared by every app: errors as 4xx with a reason, never a 500."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions, parsers
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import exception_handler as drf_exception_handler

from nhiportal import json_input
from nhiportal.conf import nhi_setting


def exception_handler(exc, context):
    # Service functions raise Django's ValidationError; the API answers 400 with its messages.
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    # One body for every 404, whatever raised it: Django's own names the model it looked in
    # ("No AIIdentity matches the given query."), which is nothing a client acts on.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    # What concerns no one field is under `detail`, whether a service or a serializer refused
    # it: DRF's own key for a serializer's, non_field_errors, is one more for clients to know.
    if response is not None and isinstance(response.data, dict) and api_settings.NON_FIELD_ERRORS_KEY in response.data:
        response.data["detail"] = response.data.pop(api_settings.NON_FIELD_ERRORS_KEY)
    return response


def not_found(request, exception):
    """Django's 404, for a path no route matches (handler404): under /api/ the JSON body of the
    API's other 404s, which a client parses, rather than the HTML page a person reads."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


class JSONParser(parsers.JSONParser):
    """DRF's, reading with the portal's strict JSON reader (nhiportal/json_input.py): a body
    nested deeper than the decoder's recursion limit, or with an unpaired surrogate escape, is
    a 400 like any other malformed JSON, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json_input.loads(stream.read().decode(encoding))
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None


def valid(serializer_class, data, **kwargs):
    """The serializer's validated data, or a 400 keyed by field."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PersonRateThrottle(UserRateThrottle):
    """At most NHI_API_RATE_PER_MINUTE calls a minute per person, whatever their token or
    session (0: no limit): a stolen API token cannot page through the whole inventory at
    machine speed. Counted in the default cache, so shared by every worker and host with
    Redis, per worker without. Past it, 429 with Retry-After."""

    scope = "person"

    def get_rate(self):
        # Read at call time, like the portal's other settings, not once at import.
        rate = nhi_setting("API_RATE_PER_MINUTE")
        return f"{rate}/min" if rate else None


# The error bodies, for the OpenAPI description (document_errors below).
ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string", "description": "The reason, in words."}},
    "required": ["detail"],
}
INVALID = {
    "type": "object",
    "description": "The reasons keyed by field name, each a list of messages (nested for a list or an object field); "
    "`detail` holds those that concern no one field, or the reason a body could not be read at all.",
    "additionalProperties": {},
}
# Any call may be refused these, whatever the operation: not signed in (401), a role or an
# object it may not touch (403), nothing it may see there or a page past the last (404), too
# many calls (429).
ANY_CALL = {
    "401": "Not signed in: no, or an invalid, expired or revoked, API token.",
    "403": "Your role may not do this.",
    "404": "No such object, or one you may not see (the two look the same).",
    "429": "Too many calls this minute (NHI_API_RATE_PER_MINUTE); Retry-After says when to try again.",
}


def document_errors(result, generator, request, public):
    """A drf-spectacular postprocessing hook: every operation documents the error answers it
    can give, each with its body (`Error` or `ValidationError`), so a generated client reads
    them as it reads a success; what a view documents itself (a 409's body, say) stays."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("ValidationError", INVALID)

    def body(name):
        return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}

    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            expected = dict(ANY_CALL)
            takes_input = "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", []))
            if takes_input:
                expected["400"] = "The input is invalid: the reasons are keyed by field name."
            if "requestBody" in operation:
                expected["415"] = "The body is not in a media type this operation reads (application/json, mostly)."
            for code, description in expected.items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if code[0] in "45" and "content" not in response:
                    response["content"] = body("ValidationError" if code == "400" else "Error")
                    if response.get("description") in ("", "No response body"):
                        response["description"] = expected.get(code, "")
    return result
