"""Instants that people and programs type, as the database can keep them."""

from datetime import timezone as dt_timezone

from django import forms
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from rest_framework import serializers


def in_utc(instant):
    """The instant in UTC, or a ValidationError. ISO 8601 allows offsets PostgreSQL refuses
    (-21:14 is past its 15:59), and an instant at the calendar's ends may not exist in UTC
    (0001-01-01T00:00+05:00 does not): either must be a form error, never a 500."""
    if instant is None:
        return None
    try:
        return instant.astimezone(dt_timezone.utc)
    except OverflowError:
        raise ValidationError("That instant is outside the calendar once in UTC.", code="invalid") from None


class InstantField(forms.DateTimeField):
    """A date and time (naive ones in the portal's time zone, UTC), kept in UTC."""

    def to_python(self, value):
        return in_utc(super().to_python(value))


class ZonedInstantField(serializers.DateTimeField):
    """An instant a program sends: with its zone (Z or an offset), kept in UTC. A date alone, or
    a time without a zone, is refused rather than read as UTC: a client writing its own local
    time would otherwise get a grant hours off, or one ending at the start of the day it named."""

    default_error_messages = {
        "zone": "Give a date, a time and a zone (Z or an offset), e.g. 2027-01-31T18:00:00Z: without a zone the moment is ambiguous.",
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None  # a well-formed but impossible date: the parent says so
            if parsed is not None and parsed.tzinfo is None:
                self.fail("zone")
        return super().to_internal_value(value)
