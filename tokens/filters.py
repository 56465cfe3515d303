"""Filters of the token service's lists (grants, credentials, access requests, approvals,
exposures, an identity's tasks), shared by each page and its CSV export: the list's Export link
carries its query string, so the file holds the rows the page shows.

Every filter narrows rows the person may already see (each list's selector applies the one
gate first): a filter never adds a row, and never names an identity the list would not.
"""

import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from inventory.models import AIIdentity
from nhiportal.identity_filter import identities_named

from .models import AccessRequest, Exposure, Grant, Service, Task, WorkloadCredential


def identity_among(identities, value: str):
    """The identity among `identities` that `value` names, by its id (a link from its page) or
    its name in any case; None when none does. `identities` are those the person may see rows
    of, so the id or name of any other matches nothing, exactly as an unknown one: filtering
    confirms no identity's existence and teaches no name."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return identities.filter(pk=uuid.UUID(value)).first()
    except ValueError:
        matches = list(identities_named(identities, value)[:2])
        # Two that differ only in case beyond ASCII (older data): ambiguous, so neither.
        return matches[0] if len(matches) == 1 else None


class IdentityAmongSeen(django_filters.CharFilter):
    """Rows of one identity, resolved by identity_among among the FilterSet's `identities`."""

    def __init__(self, **kwargs):
        super().__init__(
            label="Identity",
            max_length=200,
            widget=forms.TextInput(attrs={"placeholder": "name or client_id"}),
            **kwargs,
        )

    def filter(self, qs, value):
        if not (value or "").strip():
            return qs
        identity = self.parent.named_identity
        return qs.filter(identity=identity) if identity is not None else qs.none()


def _service_filter():
    # Services are every signed-in person's to read (the services page), so all are offered.
    return django_filters.ModelChoiceFilter(queryset=Service.objects.order_by("name"), empty_label="Any", label="Service")


class SeenRowsFilter(django_filters.FilterSet):
    """A list's filters. `identities`: those the person may see rows of (its gate's answer)."""

    identity = IdentityAmongSeen()

    def __init__(self, data=None, *, identities, **kwargs):
        self.identities = identities
        self.named_identity = identity_among(identities, (data or {}).get("identity", ""))
        if self.named_identity is not None and data.get("identity") != self.named_identity.name:
            # Linked by its id: the box shows its name, which filters the same.
            data = data.copy()
            data["identity"] = self.named_identity.name
        super().__init__(data, **kwargs)


class GrantFilter(SeenRowsFilter):
    service = _service_filter()

    class Meta:
        model = Grant
        fields = ["identity", "service"]


class CredentialFilter(SeenRowsFilter):
    class Meta:
        model = WorkloadCredential
        fields = ["identity"]


class AccessRequestFilter(SeenRowsFilter):
    service = _service_filter()

    class Meta:
        model = AccessRequest
        fields = ["identity", "service"]


class ApprovalFilter(SeenRowsFilter):
    service = _service_filter()

    class Meta:
        model = Task
        fields = ["identity", "service"]


class ExposureFilter(SeenRowsFilter):
    # Contained on that day or after, in the portal's time zone (NHIP-12 counts its 90 days so).
    since = django_filters.DateFilter(
        field_name="contained_at", lookup_expr="date__gte", label="Contained since",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Exposure
        fields = ["identity", "since"]


TASK_STATES = (("open", "Open"), ("ended", "Ended"))


class TaskFilter(django_filters.FilterSet):
    """One identity's tasks: open or ended, and on which service."""

    state = django_filters.ChoiceFilter(choices=TASK_STATES, empty_label="Any", method="filter_state", label="State")
    service = _service_filter()

    class Meta:
        model = Task
        fields = ["state", "service"]

    def __init__(self, data=None, queryset=None, **kwargs):
        super().__init__(data, queryset=queryset, **kwargs)
        # Only the services the identity has tasks on are worth offering, and the one asked for
        # (a shared link), so it stays selected; any other id is still refused as unknown.
        offered = Q(pk__in=self.queryset.order_by().values("service_id"))
        selected = str((data or {}).get("service", "")).strip()
        if selected.isascii() and selected.isdigit():
            offered |= Q(pk=int(selected))
        self.filters["service"].queryset = Service.objects.filter(offered).order_by("name")

    def filter_state(self, queryset, name, value):
        return queryset.filter(ended_at__isnull=value == "open") if value else queryset


def seen_identities(rows) -> QuerySet:
    """The identities of `rows` (a list's rows the person may see), for lists that show rows of
    identities beyond the gate's (access requests on a service one owns)."""
    return AIIdentity.objects.filter(pk__in=rows.order_by().values("identity_id"))


@dataclass
class ListFilters:
    """A list page's filters as its template and its export read them."""

    filter: django_filters.FilterSet
    kept: list  # the list's other parameters (its tabs), kept by the form and by Clear filters
    clear_url: str

    @property
    def filtering(self) -> bool:
        return any((self.filter.data or {}).get(name) for name in self.filter.filters)

    @property
    def valid(self) -> bool:
        return self.filter.is_valid()

    def rows(self) -> QuerySet:
        """The filtered rows; none while a filter is not valid (the page says which, with a 400)."""
        return self.filter.qs if self.valid else self.filter.queryset.none()


def page_filters(request, filter_class, rows: QuerySet, **kwargs) -> ListFilters:
    """`filter_class` over `rows` (already narrowed by the list's gate and tab) from the query."""
    found = filter_class(request.GET, queryset=rows, **kwargs)
    kept = [(name, value) for name, value in request.GET.items() if name not in found.filters and name != "page" and value]
    return ListFilters(found, kept, request.path + (f"?{urlencode(kept)}" if kept else ""))
