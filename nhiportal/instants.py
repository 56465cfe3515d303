"""Instants that people and programs type, as the database can keep them."""

from datetime import timezone as dt_timezone

from django import forms
from django.core.exceptions import ValidationError


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
