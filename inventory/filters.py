"""The inventory's filters, shared by the list page, its CSV export and the API."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q

from nhiportal.time_window import window
from tokens.models import WorkloadCredential

from .models import AIIdentity, Environment, Kind, Sensitivity, Status
from .models import Attestation, Campaign, OwnershipClaim
from .risk import LEVEL_LABELS, level_range
from .selectors import attestation_overdue_q, orphaned_q, risk_scored_at, undocumented_q, unscored_q

SORTS = {
    "name": "name",
    "-name": "-name",
    "status": "status",
    "-status": "-status",
    "kind": "kind",
    "-kind": "-kind",
    "environment": "environment",
    "-environment": "-environment",
    "created": "created_at",
    "-created": "-created_at",
    "attestation_due": "attestation_due",
    "-attestation_due": "-attestation_due",
    "risk": "risk_score",
    "-risk": "-risk_score",
}


# Yes/no filters as a choice, so a value other than true or false is refused (400), not ignored.
YES_NO = [("true", "Yes"), ("false", "No")]


class IdentityFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_search",
        label="Search",
        # Longer than any name, purpose or boundary; and SQLite refuses a LIKE past 50,000 bytes.
        max_length=500,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name, purpose, boundary"}),
    )
    kind = django_filters.ChoiceFilter(choices=Kind.choices, empty_label="Any")
    status = django_filters.ChoiceFilter(choices=Status.choices, empty_label="Any")
    environment = django_filters.ChoiceFilter(choices=Environment.choices, empty_label="Any")
    owner = django_filters.CharFilter(method="filter_owner", label="Owner (username)")
    sensitivity = django_filters.TypedChoiceFilter(
        field_name="sensitivity_ceiling",
        choices=[("", "Any"), *Sensitivity.choices],
        coerce=int,
        label="Sensitivity ceiling",
    )
    orphaned = django_filters.ChoiceFilter(method="filter_orphaned", choices=YES_NO, empty_label="Any", label="Orphaned")
    attestation_overdue = django_filters.ChoiceFilter(
        method="filter_attestation_overdue", choices=YES_NO, empty_label="Any", label="Attestation overdue"
    )
    risk = django_filters.ChoiceFilter(
        method="filter_risk", choices=[*LEVEL_LABELS.items(), ("unscored", "Not scored yet")], empty_label="Any", label="Risk",
    )
    networks_bound = django_filters.ChoiceFilter(
        method="filter_networks_bound", choices=YES_NO, empty_label="Any", label="Bound to networks"
    )
    in_service = django_filters.ChoiceFilter(method="filter_in_service", choices=YES_NO, empty_label="Any", label="In service")
    documented = django_filters.ChoiceFilter(
        method="filter_documented", choices=YES_NO, empty_label="Any", label="Record complete",
        help_text="Purpose, trust boundary, sensitivity ceiling and offboarding plan all recorded.",
    )
    credential = django_filters.ChoiceFilter(
        method="filter_credential", choices=YES_NO, empty_label="Any", label="Enabled workload credential"
    )
    # Set by the sortable column headers, so a hidden field keeps it when filters change.
    sort = django_filters.ChoiceFilter(
        method="filter_sort",
        choices=[(k, k) for k in SORTS],
        empty_label="name",
        label="Sort",
        widget=forms.HiddenInput,
    )

    class Meta:
        model = AIIdentity
        fields = ["q", "kind", "status", "environment", "owner", "sensitivity", "orphaned", "attestation_overdue", "risk", "networks_bound",
                  "in_service", "documented", "credential", "sort"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(purpose__icontains=value) | Q(trust_boundary__icontains=value))

    def filter_owner(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(ownerships__person__username=value) if value else queryset

    def filter_orphaned(self, queryset, name, value):
        return queryset.filter(orphaned_q(value == "true")) if value else queryset

    def filter_attestation_overdue(self, queryset, name, value):
        return queryset.filter(attestation_overdue_q(value == "true")) if value else queryset

    def filter_networks_bound(self, queryset, name, value):
        """Yes: tokens only from its allowed networks; no: from anywhere (inventory/networks.py)."""
        if not value:
            return queryset
        return queryset.exclude(allowed_networks=[]) if value == "true" else queryset.filter(allowed_networks=[])

    def filter_in_service(self, queryset, name, value):
        """Yes: not offboarded (registered, active or suspended), as the compliance controls count them."""
        if not value:
            return queryset
        return queryset.exclude(status=Status.OFFBOARDED) if value == "true" else queryset.filter(status=Status.OFFBOARDED)

    def filter_documented(self, queryset, name, value):
        """No: the record lacks something activation asks for (inventory/selectors.py, undocumented_q)."""
        if not value:
            return queryset
        return queryset.exclude(undocumented_q()) if value == "true" else queryset.filter(undocumented_q())

    def filter_credential(self, queryset, name, value):
        """Yes: it has an enabled workload credential to prove itself with; no: none it could use."""
        if not value:
            return queryset
        enabled = Exists(WorkloadCredential.objects.filter(identity=OuterRef("pk"), enabled=True))
        return queryset.filter(enabled) if value == "true" else queryset.exclude(enabled)

    def filter_risk(self, queryset, name, value):
        """A level reads the stored score; a 0 the scoring never set is no level yet (the
        dashboard's chart counts it apart, and so does this filter)."""
        if not value:
            return queryset
        unscored = unscored_q(risk_scored_at())
        if value == "unscored":
            return queryset.filter(unscored)
        low, high = level_range(value)
        queryset = queryset.filter(risk_score__gte=low).exclude(unscored)
        return queryset.filter(risk_score__lt=high) if high is not None else queryset

    def filter_sort(self, queryset, name, value):
        return queryset.order_by(SORTS[value], "pk") if value else queryset


# The API lists' time windows (nhiportal/time_window.py): since/until on the moment each row
# happened. The identity list has none: an identity is a standing record, not an event.


class ClaimWindowFilter(django_filters.FilterSet):
    since, until = window("claimed_at", "Ownership claims made")

    class Meta:
        model = OwnershipClaim
        fields = ["since", "until"]


class AttestationWindowFilter(django_filters.FilterSet):
    since, until = window("attested_at", "Attestations made")

    class Meta:
        model = Attestation
        fields = ["since", "until"]


class CampaignWindowFilter(django_filters.FilterSet):
    since, until = window("launched_at", "Campaigns launched")

    class Meta:
        model = Campaign
        fields = ["since", "until"]
