"""The audit log's filters, shared by the event list page, its JSON-lines export and the API."""

from datetime import date, timedelta

import django_filters
from django import forms

from nhiportal.identity_filter import IdentityFilter
from nhiportal.time_window import InstantFilter, start_of, window

from .models import AuditEvent


class AuditEventFilter(django_filters.FilterSet):
    # Hints as placeholders, not help text, so the filter row stays one line.
    action = django_filters.CharFilter(
        field_name="action",
        lookup_expr="startswith",
        label="Action",
        max_length=100,  # longer than any action; and SQLite refuses a LIKE pattern past 50,000 bytes
        widget=forms.TextInput(attrs={"placeholder": "identity. or identity.activate"}),
    )
    actor = django_filters.CharFilter(
        field_name="actor_label", label="Actor", widget=forms.TextInput(attrs={"placeholder": "alice, agent:…, system:…"})
    )
    object_type = django_filters.CharFilter(
        field_name="object_type", label="Object type", widget=forms.TextInput(attrs={"placeholder": "inventory.aiidentity"})
    )
    identity = IdentityFilter()
    # Whole days in the portal's time zone; compared as a range on `at` so its index serves.
    date_from = django_filters.DateFilter(
        method="filter_date_from", label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = django_filters.DateFilter(method="filter_date_to", label="To", widget=forms.DateInput(attrs={"type": "date"}))
    request_id = django_filters.CharFilter(field_name="request_id", label="Request id")
    # Part of the reason, in any case: an incident's tag ("INC-1234") finds every change made for it.
    reason = django_filters.CharFilter(
        field_name="reason",
        lookup_expr="icontains",
        label="Reason",
        max_length=200,  # as long as any reason a form takes; and SQLite refuses a LIKE pattern past 50,000 bytes
        widget=forms.TextInput(attrs={"placeholder": "INC-1234, part of a reason"}),
    )
    # Instants for automation (the API, SIEM pulls): ISO 8601 with a zone, `since` inclusive,
    # `until` exclusive.
    since = InstantFilter(field_name="at", lookup_expr="gte", label="Since (ISO 8601)")
    until = InstantFilter(field_name="at", lookup_expr="lt", label="Until (ISO 8601)")
    # A SIEM's cursor: the events after the last id it holds, none missed and none twice. Ids
    # follow commit order, since each append waits for the one before it to commit (the chain
    # head's row lock), which times cannot promise. Hidden on the page: a machine's filter.
    after = django_filters.NumberFilter(field_name="id", lookup_expr="gt", label="After event id", widget=forms.HiddenInput)

    class Meta:
        model = AuditEvent
        fields = ["action", "actor", "object_type", "identity", "date_from", "date_to", "request_id", "reason", "since", "until", "after"]

    def filter_date_from(self, queryset, name, value):
        return queryset.filter(at__gte=start_of(value))

    def filter_date_to(self, queryset, name, value):
        if value >= date.max:  # no day after it: every event is before its end
            return queryset
        return queryset.filter(at__lt=start_of(value + timedelta(days=1)))


class EventWindowFilter(django_filters.FilterSet):
    """An identity's history (/identities/{id}/history/): its events in a time window. No model:
    that list is an action of the identities' API, whose own rows are identities."""

    since, until = window("at", "Events")
