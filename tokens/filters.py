"""Filters of the token service's lists (grants, credentials, access requests, approvals,
exposures, an identity's tasks), shared by each page and its CSV export: the list's Export link
carries its query string, so the file holds the rows the page shows.

Every filter narrows rows the person may already see (each list's selector applies the one
gate first): a filter never adds a row, and never names an identity the list would not.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from inventory.models import AIIdentity, Status
from nhiportal.identity_filter import identities_named
from nhiportal.time_window import window

from .models import AccessRequest, CredentialKind, Exposure, Grant, Service, Task, WorkloadCredential
from .models import Delegation, SourceNetwork
from .rotation import due_for_rotation


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


# Yes/no filters as a choice, so a value other than true or false is refused (400), not ignored.
YES_NO = (("true", "Yes"), ("false", "No"))


class GrantFilter(SeenRowsFilter):
    service = _service_filter()

    class Meta:
        model = Grant
        fields = ["identity", "service"]


class CredentialFilter(SeenRowsFilter):
    rotation_due = django_filters.ChoiceFilter(
        choices=YES_NO, empty_label="Any", method="filter_rotation_due", label="Key due for rotation",
        help_text="An enabled public key older than the maximum age.",
    )
    wildcard = django_filters.ChoiceFilter(
        choices=YES_NO, empty_label="Any", method="filter_wildcard", label="Federated subject ending in *",
    )

    class Meta:
        model = WorkloadCredential
        fields = ["identity", "rotation_due", "wildcard"]

    def filter_rotation_due(self, queryset, name, value):
        if not value:
            return queryset
        due = Q(pk__in=due_for_rotation().values("pk"))
        return queryset.filter(due) if value == "true" else queryset.exclude(due)

    def filter_wildcard(self, queryset, name, value):
        """Yes: a federated subject that any job of a family matches (NHIP-04 counts the enabled ones)."""
        if not value:
            return queryset
        wildcard = Q(kind=CredentialKind.FEDERATED, subject__endswith="*")
        return queryset.filter(wildcard) if value == "true" else queryset.exclude(wildcard)


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


# How long a report may wait before it is late: a security admin confirms or dismisses within a
# day, and notify_exposures tells the owners within the hour. NHIP-12 counts what is late so.
UNTRIAGED_AFTER = timedelta(hours=24)
UNTOLD_AFTER = timedelta(hours=1)


def untriaged_q(now) -> Q:
    """Neither confirmed nor dismissed a day after it was reported, its identity still active."""
    return Q(confirmed_at__isnull=True, dismissed_at__isnull=True, identity__status=Status.ACTIVE, contained_at__lt=now - UNTRIAGED_AFTER)


def untold_q(now) -> Q:
    """The identity's owners not told an hour after it was reported."""
    return Q(told_at__isnull=True, contained_at__lt=now - UNTOLD_AFTER)


LATE = (("triage", "Not triaged within 24 h, identity active"), ("telling", "Owners not told within an hour"))


class ExposureFilter(SeenRowsFilter):
    # Contained on that day or after, in the portal's time zone (NHIP-12 counts its 90 days so).
    since = django_filters.DateFilter(
        field_name="contained_at", lookup_expr="date__gte", label="Contained since",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    was_live = django_filters.ChoiceFilter(choices=YES_NO, empty_label="Any", method="filter_was_live", label="Still live when reported")
    late = django_filters.ChoiceFilter(choices=LATE, empty_label="Any", method="filter_late", label="Late")

    class Meta:
        model = Exposure
        fields = ["identity", "since", "was_live", "late"]

    def filter_was_live(self, queryset, name, value):
        return queryset.filter(was_live=value == "true") if value else queryset

    def filter_late(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter((untriaged_q if value == "triage" else untold_q)(timezone.now()))


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


# The API lists' time windows (nhiportal/time_window.py): since/until on the moment each row
# happened. Apart from the pages' filters, which pick days or none, so no page grows a field.


class GrantWindowFilter(django_filters.FilterSet):
    since, until = window("created_at", "Grants made")

    class Meta:
        model = Grant
        fields = ["since", "until"]


class CredentialWindowFilter(django_filters.FilterSet):
    since, until = window("created_at", "Credentials added")

    class Meta:
        model = WorkloadCredential
        fields = ["since", "until"]


class TaskWindowFilter(django_filters.FilterSet):
    since, until = window("opened_at", "Tasks opened")

    class Meta:
        model = Task
        fields = ["since", "until"]


class DelegationWindowFilter(django_filters.FilterSet):
    since, until = window("created_at", "Delegations made")

    class Meta:
        model = Delegation
        fields = ["since", "until"]


class SourceNetworkWindowFilter(django_filters.FilterSet):
    since, until = window("first_seen_at", "Networks first seen")

    class Meta:
        model = SourceNetwork
        fields = ["since", "until"]


class ExposureWindowFilter(django_filters.FilterSet):
    # Contained when reported (a report revokes at once), as the page's `since` reads it.
    since, until = window("contained_at", "Exposures reported")

    class Meta:
        model = Exposure
        fields = ["since", "until"]


class AccessRequestWindowFilter(django_filters.FilterSet):
    since, until = window("requested_at", "Access requests made")

    class Meta:
        model = AccessRequest
        fields = ["since", "until"]
