"""Reads of the inventory, already narrowed by the visibility gate."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import BooleanField, Case, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Subquery, When
from django.shortcuts import get_object_or_404
from django.utils import timezone

from nhiportal.audit.selectors import event_list, events_for_identities, events_named
from nhiportal.people.roles import OWNER, SECURITY_ADMIN, roles_of, sees_everything
from nhiportal.sweep.models import SweepStep

from . import visibility
from .claims import DECIDING_ROLES, may_claim
from .models import AIIdentity, Attestation, AttestationReview, Campaign, CampaignItem, ClaimState, Ownership, OwnershipClaim, OwnerRole, Status
from .risk import LEVELS, level_range


def with_owner_facts(queryset: QuerySet) -> QuerySet:
    """Annotate the primary owner's username and whether any owner is active (no N+1)."""
    active_owner = Ownership.objects.filter(identity=OuterRef("pk"), person__is_active=True)
    primary = Ownership.objects.filter(identity=OuterRef("pk"), role=OwnerRole.PRIMARY).values("person__username")[:1]
    return queryset.annotate(has_active_owner=Exists(active_owner), primary_owner_name=Subquery(primary))


def orphaned_q(orphaned: bool = True) -> Q:
    """Identities (not yet offboarded) none of whose owners is an active person."""
    active_owner = Exists(Ownership.objects.filter(identity=OuterRef("pk"), person__is_active=True))
    if orphaned:
        return ~active_owner & ~Q(status=Status.OFFBOARDED)
    return active_owner | Q(status=Status.OFFBOARDED)


def attestation_overdue_q(overdue: bool = True) -> Q:
    q = Q(attestation_due__lt=timezone.localdate(), status__in=[Status.ACTIVE, Status.SUSPENDED])
    return q if overdue else ~q


def undocumented_q() -> Q:
    """An identity whose record lacks what activation asks for: purpose, trust boundary,
    sensitivity ceiling or offboarding plan."""
    return Q(purpose="") | Q(trust_boundary="") | Q(offboarding_plan="") | Q(sensitivity_ceiling__isnull=True)


def identity_list(*, user, action: str = visibility.VIEW) -> QuerySet:
    return with_owner_facts(visibility.restrict(AIIdentity.objects.all(), user, action))


def identity_get(*, user, pk, action: str = visibility.VIEW) -> AIIdentity:
    """The identity if the user may see it (or change it); 404 otherwise, so outsiders learn nothing."""
    return get_object_or_404(identity_list(user=user, action=action), pk=pk)


def with_attention_flags(queryset: QuerySet) -> QuerySet:
    """Annotate is_orphaned and is_attestation_overdue by the same rules the filters apply."""
    return queryset.annotate(
        is_orphaned=ExpressionWrapper(orphaned_q(), output_field=BooleanField()),
        is_attestation_overdue=ExpressionWrapper(attestation_overdue_q(), output_field=BooleanField()),
    )


# The governance sweep's step that stores every identity's risk score (tokens/posture.py).
RISK_SCORING_STEP = "score_identities"


def risk_scored_at():
    """When the sweep's risk scoring last succeeded; None if it never has."""
    return SweepStep.objects.filter(name=RISK_SCORING_STEP).values_list("last_success_at", flat=True).first()


def unscored_q(scored_at) -> Q:
    """Identities the risk scoring has not looked at yet: the stored 0 is the column's default,
    not a finding. That is every 0 before the scoring first ran, and since then a 0 on an
    identity registered after its last run."""
    unscored = Q(risk_score=0)
    return unscored if scored_at is None else unscored & Q(created_at__gt=scored_at)


def is_unscored(identity: AIIdentity) -> bool:
    """unscored_q for one identity already read."""
    scored_at = risk_scored_at()
    return identity.risk_score == 0 and (scored_at is None or identity.created_at > scored_at)


def identity_rows(pks: list) -> list[AIIdentity]:
    """The identities with these primary keys, in that order, with owner facts and flags.

    The list page pages over bare primary keys (a narrow sort, even at 50,000 rows) and
    annotates only the rows it shows, so the per-row subqueries run 25 times, not per match.
    Callers pass keys they took from a gated queryset.
    """
    rows = with_attention_flags(with_owner_facts(AIIdentity.objects.filter(pk__in=pks)))
    rows = rows.annotate(risk_unscored=ExpressionWrapper(unscored_q(risk_scored_at()), output_field=BooleanField())).in_bulk()
    return [rows[pk] for pk in pks if pk in rows]


def identity_page_get(*, user, pk) -> AIIdentity:
    """identity_get, with the flags the identity page shows."""
    return get_object_or_404(with_attention_flags(identity_list(user=user)), pk=pk)


def identity_owners(identity: AIIdentity) -> list[Ownership]:
    """The primary owner first, then the backups by username."""
    primary_first = Case(When(role=OwnerRole.PRIMARY, then=0), default=1)
    return list(identity.ownerships.select_related("person").order_by(primary_first, "person__username"))


def people_who_can_own() -> QuerySet:
    return get_user_model().objects.filter(is_active=True).order_by("username")


PEOPLE_SEARCH_LIMIT = 10
PEOPLE_SEARCH_MAX_TERMS = 4


def people_matching(query: str, among: QuerySet | None = None) -> tuple[list, bool]:
    """Active people (or those of `among`) whose name or username holds every word of the query
    (or whose email starts with it), by username; at most PEOPLE_SEARCH_LIMIT, and whether there
    were more."""
    terms = query.split()[:PEOPLE_SEARCH_MAX_TERMS]
    if not terms:
        return [], False
    people = people_who_can_own() if among is None else among
    for term in terms:
        people = people.filter(
            Q(username__icontains=term) | Q(first_name__icontains=term) | Q(last_name__icontains=term)
            | Q(email__istartswith=term)
        )
    found = list(people[: PEOPLE_SEARCH_LIMIT + 1])
    return found[:PEOPLE_SEARCH_LIMIT], len(found) > PEOPLE_SEARCH_LIMIT


def owner_digests(items) -> dict:
    """Each active owner with an email address, and those of the items (identities, or anything
    with an identity_id) whose identity they own: whom a notice about the items reaches, and what it lists."""
    items = list(items)

    def identity_of(item):
        return item.pk if isinstance(item, AIIdentity) else item.identity_id

    owners = Ownership.objects.filter(identity__in={identity_of(i) for i in items}, person__is_active=True).exclude(person__email="")
    by_identity = {}
    for ownership in owners.select_related("person"):
        by_identity.setdefault(ownership.identity_id, []).append(ownership.person)
    digests = {}
    for item in items:
        for person in by_identity.get(identity_of(item), []):
            digests.setdefault(person, []).append(item)
    return digests


def may_pick_people(user) -> bool:
    """Whoever fills a form that names people: those who register identities, and owners of
    one (who change its owners). Others have no such form, so no use for the directory."""
    return may_register(user) or Ownership.objects.filter(person=user, person__is_active=True).exists()


def may_register(user) -> bool:
    """Owners and security admins register identities; reviewers and compliance only read."""
    return bool(roles_of(user) & {OWNER, SECURITY_ADMIN})


def is_owner_of(user, owners: list[Ownership]) -> bool:
    """Whether the user is one of these (already loaded) owners: owners attest, admins do not."""
    return any(o.person_id == user.pk for o in owners)


def status_counts(*, user) -> dict[str, int]:
    """How many identities the user may see are in each status (every status present, zeros too)."""
    rows = visibility.restrict(AIIdentity.objects.all(), user).values("status").annotate(n=Count("pk")).order_by()
    counts = {status: 0 for status in Status.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def risk_counts(*, user) -> dict[str, int]:
    """How many identities in service the user may see are at each risk level (stored score),
    and how many the scoring has not looked at yet ("unscored", counted in no level)."""
    seen = visibility.restrict(AIIdentity.objects.exclude(status=Status.OFFBOARDED), user)
    unscored = unscored_q(risk_scored_at())

    def in_level(level):
        low, high = level_range(level)
        return Q(risk_score__gte=low) & (Q(risk_score__lt=high) if high is not None else Q()) & ~unscored

    return seen.aggregate(**{level: Count("pk", filter=in_level(level)) for level, _ in LEVELS}, unscored=Count("pk", filter=unscored))


def riskiest(*, user, limit: int) -> QuerySet:
    return visibility.restrict(AIIdentity.objects.exclude(status=Status.OFFBOARDED), user).filter(risk_score__gt=0).order_by("-risk_score", "name")[:limit]


def orphaned_identities(*, user) -> QuerySet:
    return identity_list(user=user).filter(orphaned_q())


def attestations_due(*, user, within_days: int = 14) -> QuerySet:
    """Active or suspended identities whose attestation is overdue or falls due within the days, soonest first."""
    horizon = timezone.localdate() + timedelta(days=within_days)
    return (
        identity_list(user=user)
        .filter(status__in=[Status.ACTIVE, Status.SUSPENDED], attestation_due__lte=horizon)
        .order_by("attestation_due", "name")
    )


def recent_activity(*, user, limit: int = 10) -> list:
    """The latest audit events the user may see: all of them for those who see everything,
    otherwise the events about identities the user may see."""
    if sees_everything(user):
        return events_named(event_list()[:limit])
    visible = visibility.restrict(AIIdentity.objects.all(), user)
    return events_named(events_for_identities(visible.values("pk"))[:limit], visible_identities=visible)


CLAIM_VIEWS = ("waiting", "mine", "all")


def orphaned_to_claim(user) -> QuerySet:
    """Identities none of whose owners is active, for the people who may claim or decide them.

    A deliberate window past the gate: an owner cannot see an identity they do not own, yet
    must find the orphan they are accountable for. It shows what identifies one (name, kind,
    environment, former owners) and nothing it holds.
    """
    if not (may_claim(user) or sees_everything(user)):
        return AIIdentity.objects.none()
    pending = OwnershipClaim.objects.filter(identity=OuterRef("pk"), state=ClaimState.PENDING)
    return with_owner_facts(AIIdentity.objects.filter(orphaned_q())).annotate(
        pending_claims=Count("claims", filter=Q(claims__state=ClaimState.PENDING), distinct=True),
        claimed_by_me=Exists(pending.filter(claimant=user)),
    ).order_by("name")


def claim_list(*, user, view: str = "all", state: str = "") -> QuerySet:
    """Claims the user may see: their own, and all of them for reviewers, compliance and
    security admins. view "waiting": those this person decides, oldest first."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return OwnershipClaim.objects.none()
    claims = OwnershipClaim.objects.select_related("identity", "claimant", "decided_by")
    if view == "waiting":
        if not roles_of(user) & DECIDING_ROLES:
            return claims.none()
        rivals = OwnershipClaim.objects.filter(claimant=user, state=ClaimState.PENDING).values("identity_id")
        return claims.filter(state=ClaimState.PENDING).exclude(claimant=user).exclude(identity__in=rivals).order_by("claimed_at", "id")
    if view == "mine" or not sees_everything(user):
        claims = claims.filter(claimant=user)
    if state in ClaimState.values:
        claims = claims.filter(state=state)
    return claims.order_by("-claimed_at", "-id")


def claim_get(*, user, pk) -> OwnershipClaim:
    """One claim the user may see (OwnershipClaim.DoesNotExist otherwise)."""
    return claim_list(user=user).get(pk=pk)


def waiting_claim_count(user) -> int:
    return claim_list(user=user, view="waiting").count()


ATTESTATION_VIEWS = ("waiting", "mine", "all")
ATTESTATION_STATES = (*AttestationReview.values, "all")


def attestation_list(*, user, view: str = "all", state: str = "", identity=None) -> QuerySet:
    """Attestations of the identities the user may see (the one gate); "mine": those the user
    made; "waiting": those the user reviews (inventory/attestation_reviews.py), oldest first."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Attestation.objects.none()
    attestations = Attestation.objects.select_related("identity", "person")
    if identity is not None:
        attestations = attestations.filter(identity=identity)
    if view == "waiting":
        return reviewable_attestations(user, attestations).filter(review=AttestationReview.PENDING).order_by("attested_at", "id")
    attestations = visibility.restrict_by_identity(attestations, user)
    if view == "mine":
        attestations = attestations.filter(person=user)
    if state in AttestationReview.values:
        attestations = attestations.filter(review=state)
    return attestations.order_by("-attested_at", "-id")


def reviewable_attestations(user, attestations: QuerySet | None = None) -> QuerySet:
    """Attestations, in any state, the user would review: not their own, of identities they
    do not own, as a reviewer or security admin (those waiting are the "waiting" view)."""
    attestations = Attestation.objects.all() if attestations is None else attestations
    return visibility.restrict_by_identity(attestations, user, visibility.APPROVE).exclude(person=user)


def attestation_get(*, user, pk) -> Attestation:
    """One attestation the user may see (Attestation.DoesNotExist otherwise)."""
    return attestation_list(user=user).get(pk=pk)


def waiting_attestation_count(user) -> int:
    return attestation_list(user=user, view="waiting").count()


def latest_attestation(identity) -> Attestation | None:
    return identity.attestations.select_related("person").order_by("-attested_at", "-id").first()


CAMPAIGN_ITEM_STATES = ("waiting", "attested", "all")


def campaign_list(*, user) -> QuerySet:
    """Campaigns the user may see: all of them for those who read everything; for owners,
    those that ask about an identity they own. Annotated with their progress, counted over
    the identities the user may see (an owner learns nothing of the others)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Campaign.objects.none()
    campaigns = Campaign.objects.all()
    counted = Q()
    if not sees_everything(user):
        mine = visibility.restrict(AIIdentity.objects.all(), user).values("pk")
        campaigns = campaigns.filter(Exists(CampaignItem.objects.filter(campaign=OuterRef("pk"), identity__in=mine)))
        counted = Q(items__identity__in=mine)
    return campaigns.annotate(
        total=Count("items", filter=counted), attested=Count("items", filter=counted & Q(items__attestation__isnull=False))
    ).order_by("-launched_at", "-id")


def campaign_get(*, user, pk) -> Campaign:
    """One campaign the user may see (Campaign.DoesNotExist otherwise)."""
    return campaign_list(user=user).get(pk=pk)


def campaign_items(*, campaign: Campaign, user, state: str = "waiting") -> QuerySet:
    """The campaign's identities the user may see, with who owns them and who attested."""
    items = campaign.items.select_related("identity", "attestation__person")
    if not sees_everything(user):
        items = items.filter(identity__in=visibility.restrict(AIIdentity.objects.all(), user).values("pk"))
    if state == "waiting":
        items = items.filter(attestation__isnull=True)
    elif state == "attested":
        items = items.filter(attestation__isnull=False)
    primary = Ownership.objects.filter(identity=OuterRef("identity"), role=OwnerRole.PRIMARY).values("person__username")[:1]
    active_owner = Ownership.objects.filter(identity=OuterRef("identity"), person__is_active=True)
    return items.annotate(primary_owner_name=Subquery(primary), has_active_owner=Exists(active_owner)).order_by("identity__name")


def campaign_progress(campaign: Campaign, user) -> dict:
    """Counts over the campaign's identities the user may see: all of them for a reviewer,
    compliance or a security admin (the figures they report); an owner's own otherwise."""
    items = campaign_items(campaign=campaign, user=user, state="all").order_by()
    return items.aggregate(
        total=Count("pk"),
        attested=Count("pk", filter=Q(attestation__isnull=False)),
        waiting=Count("pk", filter=Q(attestation__isnull=True)),
        without_owner=Count("pk", filter=Q(attestation__isnull=True, has_active_owner=False)),
    )


def attestations_asked_of(user) -> QuerySet:
    """Open campaigns' items waiting for an attestation of an identity this person owns."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return CampaignItem.objects.none()
    return (
        CampaignItem.objects.filter(
            attestation__isnull=True, campaign__closed_at__isnull=True,
            identity__in=Ownership.objects.filter(person=user).values("identity"),
        )
        .exclude(identity__status=Status.OFFBOARDED)  # offboarded since the launch: nothing to attest
        .select_related("campaign", "identity")
        .order_by("campaign__due", "identity__name")
    )


def campaign_asks(identity) -> list:
    """The open campaigns waiting for this identity's attestation, soonest first."""
    return list(
        identity.campaign_items.filter(attestation__isnull=True, campaign__closed_at__isnull=True)
        .select_related("campaign").order_by("campaign__due")
    )


def campaigns_asking(user) -> list[dict]:
    """Open campaigns waiting for this person's attestations: id, name, due and how many."""
    return list(
        attestations_asked_of(user).order_by().values("campaign_id", "campaign__name", "campaign__due")
        .annotate(waiting=Count("pk")).order_by("campaign__due")
    )
