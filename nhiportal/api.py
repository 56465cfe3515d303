"""API plumbing shared by every app: errors as 4xx with a reason, never a 500."""

import functools
from collections.abc import Mapping

import django_filters
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponsePermanentRedirect, JsonResponse
from django.urls import is_valid_path, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import page_not_found
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, pagination, parsers, serializers, status
from rest_framework.metadata import SimpleMetadata
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

from nhiportal import json_input
from nhiportal.conf import nhi_setting
from nhiportal.conflicts import StateConflict
from nhiportal.identity_filter import IdentityFilter


class Conflict(exceptions.APIException):
    """409: the object's state refuses the action (a service's StateConflict, a stale version)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object's current state does not allow this."
    default_code = "conflict"


def _sentence(messages) -> str:
    return " ".join(str(m) for m in messages)


def exception_handler(exc, context):
    # A service's refusal because of the object's state is a 409 with its reason; any other
    # refusal of a service function (Django's ValidationError) is bad input, a 400.
    if isinstance(exc, StateConflict):
        exc = Conflict(_sentence(exc.messages))
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": _sentence(exc.messages)}
        exc = exceptions.ValidationError(detail)
    # One body for every 404, whatever raised it: Django's own names the model it looked in
    # ("No AIIdentity matches the given query."), which is nothing a client acts on.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    # Imported here, not at the top: rest_framework.views reads the API settings as it loads,
    # and they name classes of this module, so importing it from here at load time is a cycle
    # that breaks `manage.py` whenever DRF's own system check happens to run first.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    # What concerns no one field is under `detail`, one string, whether a service or a
    # serializer refused it: DRF's own key for a serializer's, non_field_errors, and a bare
    # list of reasons are two more shapes for clients to know.
    if isinstance(response.data, list):
        response.data = {"detail": _sentence(response.data)}
    elif isinstance(response.data, dict) and api_settings.NON_FIELD_ERRORS_KEY in response.data:
        response.data["detail"] = _sentence(response.data.pop(api_settings.NON_FIELD_ERRORS_KEY))
    return response


NOT_FOUND = {"detail": "Not found."}


def not_found(request, exception):
    """Django's 404, for a path no route matches (handler404): under /api/ the JSON body of the
    API's other 404s, which a client parses, rather than the HTML page a person reads."""
    if request.path_info.startswith("/api/"):
        return JsonResponse(NOT_FOUND, status=404)
    return page_not_found(request, exception)


@csrf_exempt  # it writes nothing: a POST there is a 404 like a GET, not a CSRF page
def no_endpoint(request, rest=""):
    """The last route under /api/: a path that names no endpoint is the JSON 404 whatever DEBUG
    says (Django's debug 404 page would list every route). A read of a path that lacks only its
    final slash is sent to it, as APPEND_SLASH did before this route matched everything."""
    path = request.path_info
    if request.method in ("GET", "HEAD") and not path.endswith("/"):
        match = is_valid_path(f"{path}/", getattr(request, "urlconf", None))
        if match and match.func is not no_endpoint:
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return JsonResponse(NOT_FOUND, status=404)


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's (PAGE_SIZE a page, `?page=` from 1), but a page that is not there (0, past the
    last, not a number, empty) is a 400 on `page`, like any value the API does not know. The
    first page of an empty list is an empty page."""

    def get_page_number(self, request, paginator):
        # Counted here rather than by paginator.page() just after (num_pages is kept): the
        # refusal names the last page.
        self.last_page = max(paginator.num_pages, 1)
        # DRF reads an empty ?page= as page 1; here it is a page number that names no page.
        number = request.query_params.get(self.page_query_param, 1)
        return paginator.num_pages if number in self.last_page_strings else number

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except exceptions.NotFound:
            refusal = f"No such page: give a page number from 1 to {self.last_page}."
            raise exceptions.ValidationError({self.page_query_param: [refusal]}) from None


EMPTY_FILTER = "Give a value, or leave this filter out."


def _refuse_empty(names) -> None:
    if names:
        raise exceptions.ValidationError({name: [EMPTY_FILTER] for name in names})


class FilterBackend(DjangoFilterBackend):
    """django-filter's, for the API: an empty value for a typed filter (a choice, an id, a
    number, a date, an instant, an identity) is a 400 on its name, like any value the API does
    not know, not a silent "no filter". Free-text filters (q, owner, actor ...) take an empty
    value as no filter. The pages keep their empty form fields: they use the filter sets
    directly."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            _refuse_empty([
                name for name, used in filterset_class.base_filters.items()
                if request.query_params.get(name) == "" and not _free_text(used)
            ])
        return super().filter_queryset(request, queryset, view)


def _free_text(used) -> bool:
    return isinstance(used, django_filters.CharFilter) and not isinstance(used, IdentityFilter)


class QuerySerializer(serializers.Serializer):
    """A list's query parameters (read with valid()): an empty value is a 400 on its name, like
    FilterBackend's, unless the field documents it (allow_blank: "blank: all")."""

    def to_internal_value(self, data):
        _refuse_empty([
            name for name, field in self.fields.items() if data.get(name) == "" and not getattr(field, "allow_blank", False)
        ])
        return super().to_internal_value(data)


class TakesOnlyItsFields:
    """For a serializer that reads a body: a field it does not take, unknown or read-only, is a
    400 naming it, rather than ignored (a client that sent `status` to offboard would believe it
    did). `elsewhere` maps a field to where it is changed instead."""

    elsewhere: dict[str, str] = {}

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            refused = {}
            for name in data:
                field = self.fields.get(name)
                if name in self.elsewhere and (field is None or field.read_only):
                    refused[name] = [self.elsewhere[name]]
                elif field is None:
                    refused[name] = ["This is not a field this operation takes (see /api/schema/)."]
                elif field.read_only:
                    refused[name] = ["This field is read-only: it cannot be set here."]
            if refused:
                raise serializers.ValidationError(refused)
        return super().to_internal_value(data)


UNKNOWN_PARAMETER = "This is not a parameter this operation takes (see /api/schema/)."
REPEATED_PARAMETER = "Give this parameter once."


@functools.cache
def parameters_taken() -> dict:
    """{(view function, method): {name: whether it takes several values}}: the query parameters
    each operation's OpenAPI description documents, from what declares them (its filter set, the
    QuerySerializer it reads, the page), so what the API takes and what /api/schema/ says are
    one list. Built once a process (one to four seconds): nhiportal/wsgi.py builds it as a
    worker starts, so no API call waits for it."""
    # Imported here: the generator reads the urlconf, which imports the views, which import this.
    from drf_spectacular.generators import SchemaGenerator

    generator = SchemaGenerator()
    described = generator.get_schema(request=None, public=True)
    taken = {}
    for path, _pattern, method, view in generator.endpoints:
        # Named as the description names it ({pk} is {id} there), as the generator does.
        path = generator.coerce_path(path, method, generator.create_view(view, method))
        operation = described["paths"].get(path, {}).get(method.lower(), {})
        taken[view, method] = {
            p["name"]: p.get("schema", {}).get("type") == "array" for p in operation.get("parameters", []) if p["in"] == "query"
        }
    return taken


class TakesOnlyItsParameters:
    """For every API view: a query parameter the operation does not document is a 400 naming it,
    and so is one given twice that takes one value, rather than ignored or one of the two picked
    (`tokens/?staus=live` would list every token, for a script to revoke them all). Checked once
    the caller is let in (authentication, permissions, the rate), and after the object's lookup
    and that of any object the route names under it (`nested_lookups`), so that a caller not
    signed in, refused, or who may not see the object, or the one under it, gets the same 401,
    403 or 404 as without the parameter. DRF's `format` is no parameter here: JSON is all the
    API answers."""

    # A route that names an object under the view's own (webhooks/<pk>/deliveries/<delivery_pk>/):
    # its URL kwarg, and the name of the view's method that finds it from the object get_object()
    # found, its 404 (Http404) if there is none the caller may see.
    nested_lookups: dict[str, str] = {}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        method = "GET" if request.method == "HEAD" else request.method
        if not hasattr(self, method.lower()):
            return  # a method the endpoint does not have: its 405
        taken = parameters_taken().get((request.resolver_match.func, method), {})
        refused = {}
        for name, values in request.query_params.lists():
            if name not in taken:
                refused[name] = [UNKNOWN_PARAMETER]
            elif len(values) > 1 and not taken[name]:
                refused[name] = [REPEATED_PARAMETER]
        if refused:
            if kwargs:
                # Their 404s first: one who may not see them learns no more than without the parameter.
                obj = self.get_object()
                for name, lookup in self.nested_lookups.items():
                    if name in kwargs:
                        getattr(self, lookup)(obj)
            raise exceptions.ValidationError(refused)


class Metadata(SimpleMetadata):
    """OPTIONS says what the endpoint is and where its operations are described, without DRF's
    "actions", which describe a POST body with the view's read serializer (a create body with
    the output's fields). The OpenAPI description holds each operation's own body."""

    def determine_metadata(self, request, view):
        return {
            "name": view.get_view_name(),
            "description": view.get_view_description(),
            "renders": [renderer.media_type for renderer in view.renderer_classes],
            "parses": [parser.media_type for parser in view.parser_classes],
            "schema": reverse("api-schema"),
        }


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
    "`detail` holds, as one string, those that concern no one field, or the reason a body could not be read at all.",
    "additionalProperties": {},
}
# Any call may be refused these, whatever the operation: a query parameter it does not take
# (400: TakesOnlyItsParameters), not signed in (401), a role or an object it may not touch (403),
# nothing it may see there (404), too many calls (429).
PARAMETER_REFUSED = "A query parameter it does not take, or one given twice that takes one value, is a 400 on its name."
ANY_CALL = {
    "400": PARAMETER_REFUSED,
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
            if any(p["in"] == "query" and p["name"] == "page" for p in operation.get("parameters", [])):
                expected["400"] = (
                    "A filter value it does not know (an empty one included, unless described as allowed), or a page "
                    f"that is not there: the reasons are keyed by the filter's name (`page` for the page). {PARAMETER_REFUSED}"
                )
            elif takes_input:
                expected["400"] = f"The input is invalid: the reasons are keyed by field name. {PARAMETER_REFUSED}"
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
