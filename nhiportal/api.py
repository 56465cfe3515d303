"""API plumbing shared by every app: errors as 4xx with a reason, never a 500."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, parsers
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import exception_handler as drf_exception_handler

from nhiportal import json_input
from nhiportal.conf import nhi_setting


def exception_handler(exc, context):
    # Service functions raise Django's ValidationError; the API answers 400 with its messages.
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    return drf_exception_handler(exc, context)


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
