"""Reads of what the token service keeps about identities and the people who ask for them,
for the inventory's own pages: what offboarding an identity would end, and a person's recent
access requests on their dashboard. Reads only (and the row locks a suspension or an
offboarding takes before it reads); the token service's modules write."""

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from tokens.models import PENDING_ACCESS, AccessRequest, Delegation, Grant, IssuedToken, Service, Task, WorkloadCredential
from tokens.revocation import live_tokens, lock_for_revoking
from tokens.selectors import access_request_list

from .models import AIIdentity, AttestationReview, ClaimState, Status


def lock_for_deactivating(identity_ids) -> None:
    """Lock these identities, with the agents of the sub-tasks that suspending or offboarding
    them ends (a delegate's), all in one pass in issuance's order (tokens/revocation.
    lock_for_revoking), before the transition reads them. Locked after the identity instead (as
    tokens/revocation.on_identity_deactivated does again, then at no cost), a holder with a
    lower id would be taken out of that order, and could deadlock with an exchange holding it."""
    ids = list(identity_ids)
    open_tasks = Task.objects.filter(identity_id__in=ids, ended_at__isnull=True).values_list("pk", flat=True)
    lock_for_revoking(ids, live_tokens(IssuedToken.objects.filter(identity_id__in=ids)), tasks=open_tasks)


def offboarding_ends(identity: AIIdentity) -> dict:
    """What offboarding it now would end, counted as tokens/revocation.on_identity_deactivated
    and inventory/services._transition take them (the offboarding's audit event records the
    same counts): live tokens, open tasks, grants, enabled credentials, delegations either way,
    access requests still waiting, ownership claims waiting and attestations waiting for review."""
    now = timezone.now()
    return {
        "tokens": IssuedToken.objects.filter(identity=identity, revoked_at__isnull=True, expires_at__gt=now).count(),
        "tasks": Task.objects.filter(identity=identity, ended_at__isnull=True).count(),
        "grants": Grant.objects.filter(identity=identity, revoked_at__isnull=True).count(),
        "credentials": WorkloadCredential.objects.filter(identity=identity, enabled=True).count(),
        "delegations": Delegation.objects.filter(Q(principal=identity) | Q(delegate=identity), revoked_at__isnull=True).count(),
        "access_requests": AccessRequest.objects.filter(identity=identity, state__in=PENDING_ACCESS).count(),
        "claims": identity.claims.filter(state=ClaimState.PENDING).count(),
        "attestations": identity.attestations.filter(review=AttestationReview.PENDING).count(),
    }


def suspension_ends(identity_ids) -> dict:
    """What suspending each of these identities now would end, by identity id, counted as
    offboarding_ends counts them: {"tokens": live tokens, "tasks": open tasks} (zeros left out).
    Two grouped queries however many identities: the bulk suspension page lists up to a page."""
    now = timezone.now()
    ends = {}
    counted = (
        ("tokens", IssuedToken.objects.filter(identity__in=identity_ids, revoked_at__isnull=True, expires_at__gt=now)),
        ("tasks", Task.objects.filter(identity__in=identity_ids, ended_at__isnull=True)),
    )
    for name, rows in counted:
        for identity_id, n in rows.order_by().values("identity").annotate(n=Count("pk")).values_list("identity", "n"):
            ends.setdefault(identity_id, {})[name] = n
    return ends


# The dashboard's "my requests": those still waiting, and those decided this many days ago or less.
RECENT_REQUEST_DAYS = 30
RECENT_REQUEST_LIMIT = 5


def my_recent_access_requests(user, *, limit: int = RECENT_REQUEST_LIMIT) -> tuple[list, int]:
    """The access requests this person asked for that wait, or were decided in the last
    RECENT_REQUEST_DAYS days, newest first (at most `limit`), and how many wait in all."""
    mine = access_request_list(user=user, view="mine")
    since = timezone.now() - timedelta(days=RECENT_REQUEST_DAYS)
    recent = mine.filter(Q(state__in=PENDING_ACCESS) | Q(decided_at__gte=since))
    return list(recent[:limit]), mine.filter(state__in=PENDING_ACCESS).count()


def services_owned_count(person) -> int:
    """How many services name this person their owner, retired ones too: the services a
    handover moves (tokens/services.on_ownerships_handed_over)."""
    return Service.objects.filter(owner=person).count()


def waiting_access_request(identity: AIIdentity):
    """The oldest access request for it still waiting for a decision, if any."""
    return AccessRequest.objects.filter(identity=identity, state__in=PENDING_ACCESS).order_by("requested_at", "pk").first()


def why_settled(identity: AIIdentity) -> str:
    """Why its policy facts are settled (inventory/policy_facts.in_service), in words that
    follow "because": it is in service, was granted access, or an access request waits."""
    if identity.status != Status.REGISTERED:
        return f"{identity.name} is in service"
    if identity.grants.exists():
        return f"{identity.name} has been granted access"
    waiting = waiting_access_request(identity)
    if waiting is not None:
        return f"access request #{waiting.pk} for {identity.name} waits for a decision"
    return f"{identity.name} is in service"
