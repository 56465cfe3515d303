"""Reads of policy versions and decisions, already narrowed to what the person may see."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from inventory import visibility
from inventory.models import AIIdentity
from nhiportal.audit.models import AuditEvent
from nhiportal.identity_filter import identity_names
from nhiportal.people.roles import sees_everything
from tokens.models import Grant, Service, ServiceScope

from .access import reads_every_version
from .models import PolicyDecision, PolicyVersion

PANEL_SIZE = 10


def version_list(*, user) -> QuerySet:
    versions = PolicyVersion.objects.select_related("created_by")
    return versions if reads_every_version(user) else versions.filter(is_active=True)


def version_get(*, user, number: int) -> PolicyVersion:
    version = version_list(user=user).filter(number=number).first()
    if version is None:
        raise Http404("No such policy version.")
    return version


def version_active() -> PolicyVersion | None:
    return PolicyVersion.objects.filter(is_active=True).first()


@dataclass(frozen=True)
class ActivePeriod:
    """A time a version was the active one."""

    start: datetime
    end: datetime | None  # None: still active (or, recorded before the audit log, not known)
    by: str = ""
    reason: str = ""
    recorded: bool = True  # False: only the version's activated_at says it was active


def activation_history(versions) -> dict[int, list[ActivePeriod]]:
    """Each version's active periods by number, oldest first, read from the `policy.activate`
    events: an activation starts its version's period and ends the one before it (activations
    take turns, so the events' order is the order versions were active in). A version with no
    event but an activated_at (made active some other way) gets one period from then."""
    periods: dict[int, list[ActivePeriod]] = {}
    current: tuple[int, ActivePeriod] | None = None
    events = AuditEvent.objects.filter(action="policy.activate").order_by("id").values_list("at", "after", "actor_label", "reason")
    for at, after, actor, reason in events.iterator():
        number = after.get("active_version") if isinstance(after, dict) else None
        if not isinstance(number, int):
            continue
        if current is not None:
            previous, period = current
            periods[previous][-1] = ActivePeriod(period.start, at, period.by, period.reason)
        period = ActivePeriod(at, None, actor, reason)
        periods.setdefault(number, []).append(period)
        current = (number, period)
    wanted = {version.number: version for version in versions}
    for number, version in wanted.items():
        if number not in periods and version.activated_at:
            periods[number] = [ActivePeriod(version.activated_at, None, recorded=False)]
    return {number: periods.get(number, []) for number in wanted}


def with_history(versions) -> list[PolicyVersion]:
    """Set `periods` (activation_history) on each version."""
    versions = list(versions)
    history = activation_history(versions)
    for version in versions:
        version.periods = history[version.number]
    return versions


def decision_list(*, user) -> QuerySet:
    """Decisions about identities the person can see; everything for those who see everything."""
    decisions = PolicyDecision.objects.select_related("version")
    if sees_everything(user):
        return decisions
    visible = visibility.restrict(AIIdentity.objects.all(), user).values("pk")
    return decisions.filter(identity_id__in=Subquery(visible))


def decision_get(*, user, pk: int) -> PolicyDecision:
    decision = decision_list(user=user).filter(pk=pk).first()
    if decision is None:
        raise Http404("No such decision.")
    return decision


def identity_decisions(identity: AIIdentity, *, limit: int = PANEL_SIZE) -> list[PolicyDecision]:
    return with_names(list(PolicyDecision.objects.filter(identity_id=identity.pk).select_related("version")[:limit]))


def with_names(decisions: list[PolicyDecision]) -> list[PolicyDecision]:
    """Set identity_name and service_name on each decision (two queries for a page, no N+1).

    Decisions keep plain ids, not foreign keys, so they outlive what they name.
    """
    service_ids = {d.service_id for d in decisions if d.service_id}
    identities = identity_names(d.identity_id for d in decisions)
    services = dict(Service.objects.filter(pk__in=service_ids).values_list("pk", "name")) if service_ids else {}
    for decision in decisions:
        decision.identity_name = identities.get(decision.identity_id, "")
        decision.service_name = services.get(decision.service_id, "")
    return decisions


def granted_scopes(*, identity, service, at=None) -> tuple[str, ...]:
    """The union of the identity's live grants' scopes on the service."""
    at = at or timezone.now()
    grants = Grant.objects.filter(
        identity=identity, service=service, revoked_at__isnull=True, starts_at__lte=at, ends_at__gt=at
    ).values_list("scopes", flat=True)
    return tuple(sorted({scope for scopes in grants for scope in scopes}))


def consequential_scopes(*, service, scopes) -> tuple[str, ...]:
    return tuple(
        ServiceScope.objects.filter(service=service, name__in=list(scopes), consequential=True)
        .order_by("name")
        .values_list("name", flat=True)
    )
