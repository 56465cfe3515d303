"""Filters for the decision log, shared by its page and the API."""

import django_filters
from django import forms
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from nhiportal.identity_filter import IdentityFilter
from nhiportal.time_window import DayOrInstantFilter
from tokens.models import Service

from .cedar_request import ACTIONS
from .models import Decision, PolicyDecision, PolicyMode


def evaluation_errors_q() -> Q:
    """Policy could not be evaluated cleanly (a policy erred on the request), so it denied:
    the "Evaluation errors" filter, and NHIP-07's figure, read this."""
    return ~Q(errors=[])


class DecisionFilter(django_filters.FilterSet):
    identity = IdentityFilter()
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.all(), empty_label="Any", method="filter_service", label="Service"
    )
    decision = django_filters.ChoiceFilter(choices=Decision.choices, empty_label="Any", label="Policy said")
    enforced = django_filters.ChoiceFilter(choices=Decision.choices, empty_label="Any", label="Portal did")
    action = django_filters.ChoiceFilter(choices=[(a, a.capitalize()) for a in ACTIONS], empty_label="Any")
    mode = django_filters.ChoiceFilter(choices=PolicyMode.choices, empty_label="Any")
    errors = django_filters.ChoiceFilter(
        choices=(("true", "Yes"), ("false", "No")), empty_label="Any", method="filter_errors", label="Evaluation errors",
    )
    # The page picks whole days; the API also takes instants, like every list's since/until
    # (nhiportal/time_window.py). A date alone keeps its meaning from before: that whole day.
    since = DayOrInstantFilter(
        field_name="at", lookup_expr="gte", label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = DayOrInstantFilter(
        field_name="at", lookup_expr="lt", label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = PolicyDecision
        fields = ["identity", "service", "decision", "enforced", "action", "mode", "errors", "since", "until"]

    @extend_schema_field(OpenApiTypes.INT)  # a service id
    def filter_service(self, queryset, name, value):
        # Decisions keep the service's id, not a foreign key: they outlive the service.
        return queryset.filter(service_id=value.pk)

    def filter_errors(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(evaluation_errors_q()) if value == "true" else queryset.exclude(evaluation_errors_q())
