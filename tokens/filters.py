"""Filters of the token service's lists (grants, credentials, access requests, approvals,
exposures, an identity's tasks, issued tokens), shared by each page and its CSV export: the list's Export link
carries its query string, so the file holds the rows the page shows.

Every filter narrows rows the person may already see (each list's selector applies the one
gate first): a filter never adds a row, and never names an identity the list would not.
"""

import ipaddress
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

import django_filters
from django import forms
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory import visibility
from inventory.models import AIIdentity, Autonomy, Environment, Ownership, Status
from nhiportal.identity_filter import identities_named
from nhiportal.time_window import DayOrInstantFilter, start_of, window, window_filter

from .models import AccessRequest, AccessRequestState, AccessReview, CredentialKind, Exposure, Grant, Service, Task, WorkloadCredential
from .models import Delegation, SourceNetwork
from .models import IssuedToken
from .exchange_chains import Walk
from .issued_tokens import ONE_IDENTITY, in_state
from .rotation import due_for_rotation
from .usage import window_days


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


def scheduled_q(now) -> Q:
    """A grant decided but not started yet: the grants list's Scheduled tab, NHIP-08's figure."""
    return Q(revoked_at__isnull=True, starts_at__gt=now, ends_at__gt=now)


def runs_beyond_q(day) -> Q:
    """A grant that still gives access after `day` (in the portal's time zone): it ends on a
    later day, and was not revoked by then. NHIP-08 counts those more than 365 days ahead."""
    return Q(ends_at__date__gt=day) & (Q(revoked_at__isnull=True) | Q(revoked_at__date__gt=day))


def usage_unchecked_q() -> Q:
    """No grant_usage run has looked at the grant yet."""
    return Q(usage_checked_at__isnull=True)


def usage_unjudged_q(now, days: int) -> Q:
    """Older than the usage window (and a day's slack for the hourly run), yet no run judged it
    after its first whole window (tokens/usage.py): its use is unknown, not shown."""
    return Q(starts_at__lte=now - timedelta(days=days + 1)) & (
        usage_unchecked_q() | Q(usage_checked_at__lt=F("starts_at") + timedelta(days=days))
    )


USAGE_CHECKS = (("unchecked", "Not checked yet"), ("unjudged", "Older than the window, never judged"))


class GrantFilter(SeenRowsFilter):
    service = _service_filter()
    runs_beyond = django_filters.DateFilter(
        method="filter_runs_beyond", label="Gives access after",
        help_text="Ends on a later day, and was not revoked by then.", widget=forms.DateInput(attrs={"type": "date"}),
    )
    usage = django_filters.ChoiceFilter(
        choices=USAGE_CHECKS, empty_label="Any", method="filter_usage", label="Usage check",
        help_text="Whether the hourly usage check (grant_usage) has judged the grant's use.",
    )

    class Meta:
        model = Grant
        fields = ["identity", "service", "runs_beyond", "usage"]

    def filter_runs_beyond(self, queryset, name, value):
        return queryset.filter(runs_beyond_q(value)) if value else queryset

    def filter_usage(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(usage_unchecked_q() if value == "unchecked" else usage_unjudged_q(timezone.now(), window_days()))


# A daily check that has not run for two days is not running (NHIP-25 counts such a service).
METADATA_STALE = timedelta(days=2)


def metadata_differs_q(now) -> Q:
    """A service registered with its resource metadata whose last check found it different, or
    failed to read it, or that no check has read in two days (tokens/resource_metadata.py)."""
    return ~Q(metadata_url="") & (
        Q(metadata_checked_at__isnull=True) | Q(metadata_checked_at__lt=now - METADATA_STALE) | ~Q(metadata_drift={})
    )


METADATA_STATES = (
    ("registered", "Registered with it"), ("none", "No metadata URL"), ("differs", "Differs from it, or not checked in two days"),
)


class ServiceFilter(django_filters.FilterSet):
    """The services list's filters (every signed-in person reads every service)."""

    active = django_filters.ChoiceFilter(choices=YES_NO, empty_label="Any", method="filter_active", label="Active")
    metadata = django_filters.ChoiceFilter(
        choices=METADATA_STATES, empty_label="Any", method="filter_metadata", label="Resource metadata",
        help_text="The tool or resource server's own description of itself (RFC 9728), checked daily.",
    )
    # NHIP-06 counts the active services that take only tokens bound to the agent's key.
    dpop = django_filters.ChoiceFilter(
        choices=YES_NO, empty_label="Any", method="filter_dpop", label="Takes only bound tokens (DPoP)",
    )

    class Meta:
        model = Service
        fields = ["active", "metadata", "dpop"]

    def filter_active(self, queryset, name, value):
        return queryset.filter(is_active=value == "true") if value else queryset

    def filter_dpop(self, queryset, name, value):
        return queryset.filter(requires_dpop=value == "true") if value else queryset

    def filter_metadata(self, queryset, name, value):
        if value == "registered":
            return queryset.exclude(metadata_url="")
        if value == "none":
            return queryset.filter(metadata_url="")
        return queryset.filter(metadata_differs_q(timezone.now())) if value else queryset


class AccessReviewFilter(django_filters.FilterSet):
    """The access reviews list's filters (over the rounds the person takes part in)."""

    # Closed on that day or after, in the portal's time zone (NHIP-22 counts its year so).
    closed_since = django_filters.DateFilter(
        field_name="closed_at", lookup_expr="date__gte", label="Closed since", widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = AccessReview
        fields = ["closed_since"]


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


def granted_by_a_party_q() -> Q:
    """Granted by the person who asked, or by an owner of the identity (one when they decided,
    not one who took it over since): no second party decided (NHIP-11)."""
    return Q(state=AccessRequestState.APPROVED) & (
        Q(decided_by=F("requested_by"))
        | Exists(Ownership.objects.filter(identity=OuterRef("identity"), person=OuterRef("decided_by"), since__lte=OuterRef("decided_at")))
    )


class AccessRequestFilter(SeenRowsFilter):
    service = _service_filter()
    granted_by_a_party = django_filters.ChoiceFilter(
        choices=YES_NO, empty_label="Any", method="filter_granted_by_a_party", label="Granted by the requester or an owner",
    )

    class Meta:
        model = AccessRequest
        fields = ["identity", "service", "granted_by_a_party"]

    def filter_granted_by_a_party(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(granted_by_a_party_q()) if value == "true" else queryset.exclude(granted_by_a_party_q())


def approved_q() -> Q:
    """A task that asked for a person's approval and got it (NHIP-11)."""
    return Q(requires_approval=True, approved_by__isnull=False)


def approved_by_owner_q() -> Q:
    """Approved by an owner of its identity (one when they approved, not one who took it over
    since; a task approved before approved_at was kept counts from when it opened): NHIP-11."""
    return approved_q() & Exists(Ownership.objects.filter(
        identity=OuterRef("identity"), person=OuterRef("approved_by"),
        since__lte=Coalesce(OuterRef("approved_at"), OuterRef("opened_at")),
    ))


class ApprovalFilter(SeenRowsFilter):
    service = _service_filter()
    approved = django_filters.ChoiceFilter(choices=YES_NO, empty_label="Any", method="filter_approved", label="Approved")
    approved_by_owner = django_filters.ChoiceFilter(
        choices=YES_NO, empty_label="Any", method="filter_approved_by_owner", label="Approved by an owner of the identity",
    )

    class Meta:
        model = Task
        fields = ["identity", "service", "approved", "approved_by_owner"]

    def filter_approved(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(approved_q()) if value == "true" else queryset.exclude(approved_q())

    def filter_approved_by_owner(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(approved_by_owner_q()) if value == "true" else queryset.exclude(approved_by_owner_q())


class SourceNetworkFilter(SeenRowsFilter):
    """The source networks list's filters (tokens/network_views.py), its CSV's and, with the
    API's own identity, `new` and window (tokens/api/source_networks.py), its API's.
    `news`: the networks that are news now (source_networks.new_networks, NHIP-23's figure),
    given by the caller since that module reads this one through the selectors."""

    new = django_filters.ChoiceFilter(
        choices=YES_NO, empty_label="Any", method="filter_new", label="New",
        help_text="First seen in the last 7 days, not its identity's first network, nor recognised by an owner.",
    )
    outside_allowed = django_filters.ChoiceFilter(
        choices=YES_NO, empty_label="Any", method="filter_outside_allowed", label="Outside its allowed networks",
        help_text="Its identity has allowed networks, and none of them holds this one whole.",
    )
    # Days in the portal's time zone, as the tokens list picks them.
    since = django_filters.DateFilter(method="filter_since", label="First seen since", widget=forms.DateInput(attrs={"type": "date"}))
    until = django_filters.DateFilter(
        method="filter_until", label="First seen until", help_text="That day included.", widget=forms.DateInput(attrs={"type": "date"}),
    )
    q = django_filters.CharFilter(
        method="filter_q", max_length=64, label="Network", help_text="The start of its address, such as 10.20. or 2001:db8:",
    )

    class Meta:
        model = SourceNetwork
        fields = ["identity", "new", "outside_allowed", "since", "until", "q"]

    def __init__(self, data=None, *, news, **kwargs):
        self.news = news
        super().__init__(data, **kwargs)

    @staticmethod
    def outside_allowed_ids(rows) -> set:
        """The ids of `rows` whose network its identity's allowed networks do not hold whole.
        None set is anywhere, as the token endpoint reads them (inventory/networks.allows), so
        only bound identities' rows are read. Allowed networks are CIDRs kept as JSON: whether
        they hold a network is IP arithmetic SQLite cannot do, so it is decided here, over
        their union (two halves hold the whole)."""
        outside = set()
        bound = rows.exclude(identity__allowed_networks=[]).values_list("pk", "network", "identity__allowed_networks")
        for pk, network, allowed in bound.order_by().iterator(chunk_size=2000):
            seen = ipaddress.ip_network(network)
            blocks = ipaddress.collapse_addresses(
                block for block in (ipaddress.ip_network(n, strict=False) for n in allowed) if block.version == seen.version
            )
            if not any(seen.subnet_of(block) for block in blocks):
                outside.add(pk)
        return outside

    def filter_new(self, queryset, name, value):
        if not value:
            return queryset
        news = Q(pk__in=self.news.values("pk"))
        return queryset.filter(news) if value == "true" else queryset.exclude(news)

    def filter_outside_allowed(self, queryset, name, value):
        if not value:
            return queryset
        outside = Q(pk__in=self.outside_allowed_ids(queryset))
        return queryset.filter(outside) if value == "true" else queryset.exclude(outside)

    def filter_since(self, queryset, name, day):
        return queryset.filter(first_seen_at__gte=start_of(day)) if day else queryset

    def filter_until(self, queryset, name, day):
        if not day or day >= date.max:  # no day after it: every row is before its end
            return queryset
        return queryset.filter(first_seen_at__lt=start_of(day + timedelta(days=1)))

    def filter_q(self, queryset, name, value):
        value = (value or "").strip().lower()
        return queryset.filter(network__startswith=value) if value else queryset


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


def crossing_q() -> Q:
    """A production agent's task that got a token for a service outside production: what
    NHIP-15 counts (over its last 30 days)."""
    return (
        Q(identity__environment=Environment.PRODUCTION) & ~Q(service__environment=Environment.PRODUCTION)
        & Q(Exists(IssuedToken.objects.filter(task=OuterRef("pk"))))
    )


def approval_covered_ids() -> RawSQL:
    """Ids of the tasks a person's approval covers: those approved, and the sub-tasks exchanged
    from them, at any depth (an approval covers the task and what it hands on, as NHIP-10 reads
    it). Walked down from the approved tasks, which are few (task_approver_idx)."""
    walk = Walk()
    walk.down("covered", Task.objects.filter(approved_by__isnull=False))
    return walk.ids("covered")


class TaskListFilter(SeenRowsFilter):
    """The tasks list's filters (tokens/task_views.py), across the identities one may see."""

    state = django_filters.ChoiceFilter(choices=TASK_STATES, empty_label="Any", method="filter_state", label="State")
    service = _service_filter()
    # The page picks whole days; a link (a compliance figure's) may carry an instant, as the
    # decision log's (nhiportal/time_window.py). A date alone: that whole day.
    since = DayOrInstantFilter(field_name="opened_at", lookup_expr="gte", label="Opened since", widget=forms.DateInput(attrs={"type": "date"}))
    until = DayOrInstantFilter(
        field_name="opened_at", lookup_expr="lt", label="Opened until", help_text="That day included.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    q = django_filters.CharFilter(method="filter_q", max_length=200, label="Intent", help_text="Part of what the agent said the task is for.")
    autonomy = django_filters.ChoiceFilter(
        choices=Autonomy.choices, empty_label="Any", field_name="identity__autonomy", label="Identity's autonomy",
    )
    crossing = django_filters.ChoiceFilter(
        choices=YES_NO, empty_label="Any", method="filter_crossing", label="Crosses environments",
        help_text="A production agent's task that got a token for a service outside production.",
    )
    without_approval = django_filters.ChoiceFilter(
        choices=YES_NO, empty_label="Any", method="filter_without_approval", label="Without a person's approval",
        help_text="No person approved it, nor a task it was exchanged from. Most work needs no approval: narrow by autonomy.",
    )

    class Meta:
        model = Task
        fields = ["state", "identity", "service", "since", "until", "q", "autonomy", "crossing", "without_approval"]

    def filter_state(self, queryset, name, value):
        return queryset.filter(ended_at__isnull=value == "open") if value else queryset

    def filter_q(self, queryset, name, value):
        value = (value or "").strip()
        return queryset.filter(intent__icontains=value) if value else queryset

    def filter_crossing(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(crossing_q()) if value == "true" else queryset.exclude(crossing_q())

    def filter_without_approval(self, queryset, name, value):
        if not value:
            return queryset
        covered = Q(pk__in=approval_covered_ids())
        return queryset.exclude(covered) if value == "true" else queryset.filter(covered)


class TaskApiFilter(TaskListFilter):
    """The tasks list's filters for the API: since/until as instants, like every API list's; the
    identity by its id in the query serializer, as before (an empty or malformed one a 400)."""

    identity = None
    since, until = window("opened_at", "Tasks opened")

    class Meta:
        model = Task
        fields = ["state", "service", "since", "until", "q", "autonomy", "crossing", "without_approval"]

    def __init__(self, data=None, queryset=None, *, request=None, **kwargs):
        identities = visibility.restrict(AIIdentity.objects.all(), getattr(request, "user", None))
        super().__init__(data, queryset=queryset, request=request, identities=identities, **kwargs)


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
GrantWindowFilter = window_filter(Grant, "created_at", "Grants made")
CredentialWindowFilter = window_filter(WorkloadCredential, "created_at", "Credentials added")
DelegationWindowFilter = window_filter(Delegation, "created_at", "Delegations made")
# Contained when reported (a report revokes at once), as the page's `since` reads it.
ExposureWindowFilter = window_filter(Exposure, "contained_at", "Exposures reported")
AccessRequestWindowFilter = window_filter(AccessRequest, "requested_at", "Access requests made")


# The tokens list (tokens/token_list_views.py) and its API: the ledger across identities. Its
# tabs (live, expired, revoked, all) are the page's; the API takes `state` as a filter.


# What should have revoked a token with it (tokens/revocation.py, tokens/credentials.py): one
# still live after it is what NHIP-09 counts.
OUTLIVED = (
    ("task", "Its task ended"), ("identity", "Its identity is suspended or offboarded"), ("credential", "Its credential was disabled"),
)


def outlived_q(what: str) -> Q:
    """The token outlived `what` (a value of OUTLIVED)."""
    if what == "task":
        return Q(task__ended_at__isnull=False)
    if what == "identity":
        return Q(identity__status__in=[Status.SUSPENDED, Status.OFFBOARDED])
    return Q(credential__enabled=False)


def _issued_on_or_after(queryset, name, day):
    return queryset.filter(issued_at__gte=start_of(day)) if day else queryset


def _issued_on_or_before(queryset, name, day):
    if not day:
        return queryset
    if day >= date.max:  # no day after it: every row is before its end
        return queryset
    return queryset.filter(issued_at__lt=start_of(day + timedelta(days=1)))


class IssuedTokenFilter(SeenRowsFilter):
    service = django_filters.ModelChoiceFilter(
        # field_name names the path for the OpenAPI schema (a service id); the method decides.
        queryset=Service.objects.order_by("name"), field_name="task__service", empty_label="Any", label="Service",
        method="filter_service", help_text="Tokens for its audience.",
    )
    credential = django_filters.NumberFilter(
        # A bigger number than a row id can be is refused as a 400 naming the filter; SQLite
        # would raise on it (OverflowError) instead.
        field_name="credential_id", label="Credential (id)", min_value=1, max_value=2**63 - 1,
        help_text="Tokens obtained with one workload credential (its id on the credentials list).",
    )
    kid = django_filters.CharFilter(field_name="signing_kid", max_length=64, label="Signing key (kid)", help_text="Tokens signed with this key.")
    dpop = django_filters.ChoiceFilter(
        choices=YES_NO, empty_label="Any", method="filter_dpop", label="Bound to the agent's key (DPoP)",
    )
    # Days in the portal's time zone, as the other pages pick them; NHIP-06 counts its 30 days so.
    since = django_filters.DateFilter(
        method=_issued_on_or_after, label="Issued since", widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = django_filters.DateFilter(
        method=_issued_on_or_before, label="Issued until", help_text="That day included.", widget=forms.DateInput(attrs={"type": "date"}),
    )
    q = django_filters.CharFilter(
        method="filter_q", max_length=200, label="Search",
        help_text="The start of a token's jti, or part of its identity's name.",
    )
    outlived = django_filters.ChoiceFilter(
        choices=OUTLIVED, empty_label="Any", method="filter_outlived", label="Outlived",
        help_text="What revokes a token with it: on the Live tab, the tokens that revocation missed.",
    )

    class Meta:
        model = IssuedToken
        fields = ["identity", "service", "credential", "kid", "dpop", "since", "until", "q", "outlived"]

    def filter_queryset(self, queryset):
        found = super().filter_queryset(queryset)
        # One identity: newest first off token_identity_idx rather than sorting its rows by id.
        return found.order_by(*ONE_IDENTITY) if self.named_identity is not None else found

    def filter_service(self, queryset, name, service):
        return queryset.filter(audience=service.audience) if service else queryset

    def filter_dpop(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.exclude(cnf_jkt="") if value == "true" else queryset.filter(cnf_jkt="")

    def filter_q(self, queryset, name, value):
        value = (value or "").strip()
        if not value:
            return queryset
        named = self.identities.filter(name__icontains=value).values("pk")
        return queryset.filter(Q(jti__startswith=value) | Q(identity__in=named))

    def filter_outlived(self, queryset, name, value):
        return queryset.filter(outlived_q(value)) if value else queryset


LEDGER_STATES = (("live", "Live"), ("expired", "Expired"), ("revoked", "Revoked"), ("all", "All"))


class IssuedTokenApiFilter(IssuedTokenFilter):
    """The list's filters for the API: `state` as a filter, and since/until as instants."""

    state = django_filters.ChoiceFilter(
        choices=LEDGER_STATES, method="filter_state", label="State",
        help_text="live (neither revoked nor expired), expired (ran out unrevoked), revoked, or all (as when left out).",
    )
    since, until = window("issued_at", "Tokens issued")

    class Meta:
        model = IssuedToken
        fields = ["state", "identity", "service", "credential", "kid", "dpop", "since", "until", "q", "outlived"]

    def __init__(self, data=None, queryset=None, *, request=None, **kwargs):
        identities = visibility.restrict(AIIdentity.objects.all(), getattr(request, "user", None))
        super().__init__(data, queryset=queryset, request=request, identities=identities, **kwargs)

    def filter_state(self, queryset, name, value):
        return in_state(queryset, value) if value else queryset

