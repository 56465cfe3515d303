"""The inventory's filters, shared by the list page, its CSV export and the API."""

from datetime import timedelta

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from nhiportal.conf import nhi_setting
from nhiportal.time_window import window_filter
from tokens.models import AccessReviewItem, Grant, ReviewDecision, TokenPace, WorkloadCredential
from tokens.rate_limit import SLOWED_DAYS

from .models import AIIdentity, Environment, Kind, Sensitivity, Status
from .models import Attestation, Campaign, Ownership, OwnershipClaim
from .people import kept_by_directory_q
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

# The conditions of the filters below that compliance controls count too, so a control's
# figure is the number of rows behind its link (nhiportal/compliance/evidence.py).


def attesting_q() -> Q:
    """Active or suspended: the identities asked to attest (NHIP-03)."""
    return Q(status__in=[Status.ACTIVE, Status.SUSPENDED])


def no_due_date_q() -> Q:
    """No attestation due date: never overdue, so never suspended for it (NHIP-03)."""
    return Q(attestation_due__isnull=True)


def rate_limited_q() -> Q:
    """A token rate limit applies: its own, or the portal's default when one is set (NHIP-24)."""
    return Q() if nhi_setting("TOKEN_RATE_PER_MINUTE") else Q(token_rate_per_minute__isnull=False)


def rate_refused_q(now) -> Q:
    """Refused a token for its rate limit in the last SLOWED_DAYS (NHIP-24)."""
    return Exists(TokenPace.objects.filter(identity=OuterRef("pk"), slowed_at__gte=now - timedelta(days=SLOWED_DAYS)))


def directory_owned_q() -> Q:
    """An active owner of it is kept by the directory (NHIP-20). Who the directory keeps is an
    uncorrelated subquery, which both databases evaluate once per query; a list of their ids
    would cost one SQL parameter per person, past SQLite's limit in a large organisation."""
    kept = get_user_model().objects.filter(kept_by_directory_q(OuterRef("pk"))).values("pk")
    return Exists(Ownership.objects.filter(identity=OuterRef("pk"), person__is_active=True, person_id__in=kept))


REVIEW_DAYS = 365  # access held longer than this is confirmed in an access review within it (NHIP-22)


def unreviewed_old_access_q(now) -> Q:
    """It holds a live grant made over REVIEW_DAYS ago that no access review kept within them."""
    year_ago = now - timedelta(days=REVIEW_DAYS)
    kept_lately = AccessReviewItem.objects.filter(grant=OuterRef("pk"), decision=ReviewDecision.KEEP, decided_at__gte=year_ago)
    return Exists(Grant.objects.filter(
        identity=OuterRef("pk"), revoked_at__isnull=True, ends_at__gt=now, created_at__lt=year_ago,
    ).exclude(Exists(kept_lately)))


def holds_access_q(now) -> Q:
    """It holds a grant not revoked and not ended, or an enabled workload credential: what
    offboarding takes away, so an offboarded one that does is a finding (NHIP-09)."""
    return Exists(Grant.objects.filter(identity=OuterRef("pk"), revoked_at__isnull=True, ends_at__gt=now)) | Exists(
        WorkloadCredential.objects.filter(identity=OuterRef("pk"), enabled=True)
    )


def _yes_no(queryset, value, q):
    """Rows meeting `q` for "true", the others for "false", all for no value."""
    if not value:
        return queryset
    return queryset.filter(q) if value == "true" else queryset.exclude(q)


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
    attesting = django_filters.ChoiceFilter(
        method="filter_attesting", choices=YES_NO, empty_label="Any", label="Asked to attest", help_text="Active or suspended.",
    )
    no_due_date = django_filters.ChoiceFilter(
        method="filter_no_due_date", choices=YES_NO, empty_label="Any", label="No attestation due date",
    )
    rate_limited = django_filters.ChoiceFilter(
        method="filter_rate_limited", choices=YES_NO, empty_label="Any", label="Token rate limit",
        help_text="Its own, or the portal's default when one is set.",
    )
    rate_refused = django_filters.ChoiceFilter(
        method="filter_rate_refused", choices=YES_NO, empty_label="Any", label=f"Refused for its rate limit in {SLOWED_DAYS} days",
    )
    directory_owner = django_filters.ChoiceFilter(
        method="filter_directory_owner", choices=YES_NO, empty_label="Any", label="Owner kept by the directory",
        help_text="An active owner linked through single sign-on or provisioned by directory sync.",
    )
    unreviewed_access = django_filters.ChoiceFilter(
        method="filter_unreviewed_access", choices=YES_NO, empty_label="Any", label="Unreviewed old access",
        help_text=f"Holds a grant older than {REVIEW_DAYS} days that no access review kept in that time.",
    )
    holds_access = django_filters.ChoiceFilter(
        method="filter_holds_access", choices=YES_NO, empty_label="Any", label="Holds access",
        help_text="A grant not revoked and not ended, or an enabled workload credential.",
    )
    # Set by the sortable column headers, so a hidden field keeps it when filters change.
    sort = django_filters.ChoiceFilter(
        method="filter_sort",
        choices=[(k, k) for k in SORTS],
        empty_label="name",
        label="Sort",
        widget=forms.HiddenInput,
    )

    # The filters the page folds under "More filters" (open while one of them is set): most
    # are the compliance figures' links, and a keyboard user should not Tab through a dozen
    # of them to reach the table.
    MORE = (
        "orphaned", "attestation_overdue", "networks_bound", "in_service", "documented", "credential", "attesting",
        "no_due_date", "rate_limited", "rate_refused", "directory_owner", "unreviewed_access", "holds_access",
    )

    @property
    def more_in_use(self) -> bool:
        return any(self.data.get(name) for name in self.MORE)

    class Meta:
        model = AIIdentity
        fields = ["q", "kind", "status", "environment", "owner", "sensitivity", "orphaned", "attestation_overdue", "risk", "networks_bound",
                  "in_service", "documented", "credential", "attesting", "no_due_date", "rate_limited", "rate_refused", "directory_owner",
                  "unreviewed_access", "holds_access", "sort"]

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

    def filter_attesting(self, queryset, name, value):
        return _yes_no(queryset, value, attesting_q())

    def filter_no_due_date(self, queryset, name, value):
        return _yes_no(queryset, value, no_due_date_q())

    def filter_rate_limited(self, queryset, name, value):
        if value == "false" and not rate_limited_q():  # the portal's default limits every identity
            return queryset.none()
        return _yes_no(queryset, value, rate_limited_q())

    def filter_rate_refused(self, queryset, name, value):
        return _yes_no(queryset, value, rate_refused_q(timezone.now()))

    def filter_directory_owner(self, queryset, name, value):
        return _yes_no(queryset, value, directory_owned_q())

    def filter_unreviewed_access(self, queryset, name, value):
        return _yes_no(queryset, value, unreviewed_old_access_q(timezone.now()))

    def filter_holds_access(self, queryset, name, value):
        return _yes_no(queryset, value, holds_access_q(timezone.now()))

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
ClaimWindowFilter = window_filter(OwnershipClaim, "claimed_at", "Ownership claims made")
AttestationWindowFilter = window_filter(Attestation, "attested_at", "Attestations made")
CampaignWindowFilter = window_filter(Campaign, "launched_at", "Campaigns launched")
