"""since and until: the time window of every API list of things that happen (audit events,
decisions, tasks, exposures, requests ...), named, read and refused the same way on each, so
an incident script asks every list for "everything since T" with one query.

`since` is inclusive and `until` exclusive, so two windows that meet share no row and miss
none. Both take an ISO 8601 instant with its zone; a date alone or a time without a zone is
refused rather than guessed, as every instant the API takes (nhiportal/instants.py)."""

from datetime import date, datetime, time, timedelta

import django_filters
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django_filters.fields import IsoDateTimeField

from nhiportal.instants import in_utc

# One refusal for every bad instant, whichever list and edge: what to send instead.
INSTANT_NEEDED = (
    "Give an ISO 8601 date, time and zone (Z or an offset), e.g. 2026-11-30T18:00:00Z: "
    "a date alone or a time without a zone is ambiguous."
)
INSTANT_FORM = "ISO 8601 with its zone (2026-11-30T18:00:00Z or an offset); anything else is a 400 naming the parameter."
DAY_OR_INSTANT = (
    "ISO 8601 with its zone (2026-11-30T18:00:00Z or an offset); a date alone (2026-11-30), as this list took before, "
    "is that whole day in UTC: since from its start, until through its end. Anything else is a 400 naming the parameter."
)


class _ZonedInstantField(IsoDateTimeField):
    """An instant with its zone, kept in UTC; anything else is INSTANT_NEEDED (an instant
    outside the calendar once in UTC gets in_utc's own reason)."""

    default_error_messages = {"invalid": INSTANT_NEEDED}

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None  # a well-formed but impossible date: the parent refuses it
            if parsed is not None and parsed.tzinfo is None:
                raise ValidationError(self.error_messages["invalid"], code="zone")
        return in_utc(super().to_python(value))


class InstantFilter(django_filters.IsoDateTimeFilter):
    field_class = _ZonedInstantField


def window(field_name: str, rows: str):
    """`since` and `until` on `field_name`, described for the API as `rows` ("Tasks opened")."""
    return (
        InstantFilter(
            field_name=field_name, lookup_expr="gte", label="Since (ISO 8601)",
            help_text=f"{rows} at or after this instant. {INSTANT_FORM}",
        ),
        InstantFilter(
            field_name=field_name, lookup_expr="lt", label="Until (ISO 8601)",
            help_text=f"{rows} before this instant (so a window ending where the next starts misses nothing). {INSTANT_FORM}",
        ),
    )


def window_filter(model, field_name: str, rows: str) -> type[django_filters.FilterSet]:
    """A FilterSet of since and until alone, on `model`'s `field_name`: for the API lists of
    things that happen that filter on nothing else (the pages' filters pick days, or none)."""
    since, until = window(field_name, rows)
    meta = type("Meta", (), {"model": model, "fields": ["since", "until"]})
    return type(f"{model.__name__}WindowFilter", (django_filters.FilterSet,), {"since": since, "until": until, "Meta": meta})


def start_of(day: date) -> datetime:
    """The day's first instant in the portal's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


class _DayOrZonedInstantField(_ZonedInstantField):
    """Where since/until took a date before they took instants: a date alone still means that
    whole day, so the links and scripts written then keep working."""

    def to_python(self, value):
        if isinstance(value, str):
            try:
                day = parse_date(value.strip())
            except ValueError:  # 2026-02-30
                raise ValidationError(self.error_messages["invalid"], code="invalid") from None
            if day is not None:
                return day
        return super().to_python(value)


class DayOrInstantFilter(InstantFilter):
    """since (lookup gte) or until (lookup lt) that also takes a date alone, as before: since
    that day's start, until that day's end, in the portal's time zone (UTC)."""

    field_class = _DayOrZonedInstantField

    def filter(self, qs, value):
        if isinstance(value, datetime) or value in (None, ""):
            return super().filter(qs, value)
        if self.lookup_expr == "gte":
            return qs.filter(**{f"{self.field_name}__gte": start_of(value)})
        if value >= date.max:  # no day after it: every row is before its end
            return qs
        return qs.filter(**{f"{self.field_name}__lt": start_of(value + timedelta(days=1))})
