"""Reads for the token service's pages and API, narrowed by the inventory's visibility gate."""

from dataclasses import dataclass

from django.db.models import Case, Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from inventory import visibility
from inventory.models import AIIdentity, Ownership, Status
from inventory.selectors import with_owner_facts
from nhiportal.people.roles import is_reviewer, is_security_admin
from nhiportal.audit.models import AuditEvent
from nhiportal.ids import as_id

from .federation import platform_of
from .filters import scheduled_q
from .revocation import live_tokens
from .unused_identities import unused_identities, with_last_token
from .usage import unused, window_days, with_uses
from .models import PENDING_ACCESS, AccessRequest, AccessRequestState, AccessReviewItem, CredentialKind, Delegation, Exposure, FederatedIssuer, Grant, IssuedToken, KeyState, Service, ServiceScope, SigningKey, Task, TrustDomain, WorkloadCredential, approval_requests_since

PANEL_TASKS = 10
PANEL_TOKENS_PER_TASK = 5


def service_list() -> QuerySet:
    return Service.objects.select_related("owner").annotate(scope_count=Count("scopes")).order_by("name")


def service_get(pk) -> Service:
    return Service.objects.select_related("owner").prefetch_related("scopes").get(pk=pk)


def visible_identities(user) -> QuerySet:
    return visibility.restrict(AIIdentity.objects.all(), user, visibility.VIEW)


CREDENTIAL_STATES = ("enabled", "disabled", "all")


def credential_list(*, user, kind: str = "", state: str = "enabled", platform=None) -> QuerySet:
    """Workload credentials of the identities the user may see, newest first, each with the
    time of the last token obtained with it (last_token_at: the ledger's, None once pruned).
    platform: only those naming this trust domain or federated issuer."""
    credentials = visibility.restrict_by_identity(WorkloadCredential.objects.all(), user)
    if platform is not None:
        credentials = platform.credentials.filter(pk__in=credentials.values("pk"))
    if kind in CredentialKind.values:
        credentials = credentials.filter(kind=kind)
    if state != "all":
        credentials = credentials.filter(enabled=state != "disabled")
    return (
        with_last_token_at(credentials)
        .select_related("identity", "trust_domain", "federated_issuer", "created_by")
        .order_by("-created_at", "-pk")
    )


def with_last_token_at(credentials: QuerySet) -> QuerySet:
    """Annotate each credential's last_token_at: when the ledger last issued a token to a client
    that proved itself with it (None once pruned). The newest row by id: the first entry for the
    credential in token_credential_idx, one short lookup per row inside the page's one query,
    however busy the agent."""
    last_token = IssuedToken.objects.filter(credential=OuterRef("pk")).order_by("-id").values("issued_at")[:1]
    return credentials.annotate(last_token_at=Subquery(last_token))


def grant_list(*, user, state: str = "", service=None) -> QuerySet:
    """Grants of the identities the user may see; state is live, scheduled, ended or revoked."""
    now = timezone.now()
    grants = Grant.objects.filter(identity__in=visible_identities(user)).select_related("identity", "service")
    if service:
        grants = grants.filter(service=service)
    if state == "live":
        grants = grants.filter(revoked_at__isnull=True, starts_at__lte=now, ends_at__gt=now)
    elif state == "scheduled":
        grants = grants.filter(scheduled_q(now))
    elif state == "ended":
        grants = grants.filter(revoked_at__isnull=True, ends_at__lte=now)
    elif state == "revoked":
        grants = grants.filter(revoked_at__isnull=False)
    return grants.order_by("-created_at")


def unused_grant_list(*, user) -> QuerySet:
    """Live grants of the identities the user may see with a scope no token carried for the
    whole window, as the last grant_usage run found (tokens/usage.py), oldest grant first:
    the longest-standing unused rights."""
    return unused(grant_list(user=user, state="live")).order_by("starts_at", "pk")


def grant_usage_unchecked(*, user) -> bool:
    """Whether the user sees live grants yet the hourly grant_usage step has checked none of
    them: until it has, "nothing unused" would be a guess, not a finding."""
    counts = grant_list(user=user, state="live").order_by().aggregate(
        live=Count("pk"), checked=Count("pk", filter=Q(usage_checked_at__isnull=False)),
    )
    return counts["live"] > 0 and counts["checked"] == 0


GRANT_STATES = ("live", "scheduled", "unused", "ended", "revoked", "all")


def grants_in_state(*, user, state: str) -> QuerySet:
    """The grants list's rows, and its export's, for one of GRANT_STATES, with who granted
    each (both show it: one join, not a query per row)."""
    grants = unused_grant_list(user=user) if state == "unused" else grant_list(user=user, state="" if state == "all" else state)
    return grants.select_related("granted_by")


def credential_platform(*, user, params) -> tuple:
    """The platform a credential list is narrowed to by ?issuer= or ?trust_domain= (linked from
    the platform's list), and that parameter to keep in its links; (None, "") for none.
    Platforms are security admins' to list; anyone else filters only by one that a credential
    they may see names, so the banner names no other (a 404 like an unknown id)."""
    for param, model in (("issuer", FederatedIssuer), ("trust_domain", TrustDomain)):
        if params.get(param):
            platforms = model.objects.all()
            if not is_security_admin(user):
                seen = visibility.restrict_by_identity(WorkloadCredential.objects.all(), user)
                platforms = platforms.filter(credentials__in=seen.values("pk"))
            platform = get_object_or_404(platforms.distinct(), pk=as_id(params[param]) or 0)
            return platform, f"&{param}={platform.pk}"
    return None, ""


def unused_identity_list(*, user) -> QuerySet:
    """Active identities the user may see that obtained no token in the whole window
    (tokens/unused_identities.py), idle longest first, with owner facts and their last token."""
    found = unused_identities(visible_identities(user))
    return with_last_token(with_owner_facts(found)).order_by("status_changed_at", "name")


def grant_state(grant: Grant, now=None) -> str:
    now = now or timezone.now()
    if grant.revoked_at:
        return "revoked"
    if grant.ends_at <= now:
        return "expired"
    return "live" if grant.starts_at <= now else "next"


# Issuance gives tokens to active identities only (tokens/issuance.py).
IDENTITY_NOT_ACTIVE = {
    Status.REGISTERED: "identity not activated yet",
    Status.SUSPENDED: "identity suspended",
    Status.OFFBOARDED: "identity offboarded",
}
GRANT_STATE_REASONS = {"revoked": "revoked", "expired": "expired", "next": "not started yet"}


def offered_scopes(service_ids=None) -> dict:
    """Service id -> the names of the scopes it offers now (every service's, or those named):
    one query for a page or an export."""
    scopes = ServiceScope.objects.all() if service_ids is None else ServiceScope.objects.filter(service_id__in=service_ids)
    offered = {}
    for service_id, name in scopes.values_list("service_id", "name"):
        offered.setdefault(service_id, set()).add(name)
    return offered


def grant_blockers(grant: Grant, offered: set) -> list[str]:
    """What keeps a grant from yielding tokens beyond its own dates and its service being
    inactive (which its state badge says): an identity that is not active, scopes the service
    no longer offers. `offered`: the scope names of its service (offered_scopes)."""
    blockers = [IDENTITY_NOT_ACTIVE[grant.identity.status]] if grant.identity.status in IDENTITY_NOT_ACTIVE else []
    gone = [scope for scope in grant.scopes if scope not in offered]
    if gone:
        blockers.append(f"no longer offered: {' '.join(gone)}")
    return blockers


def grant_usable_now(grant: Grant, offered: set, now=None) -> tuple[bool, list[str]]:
    """Whether a token can be had under the grant now, and what stands in the way: the rule of
    the grants list's badges (its state, its service inactive) and grant_blockers. A grant some
    of whose scopes are no longer offered stays usable for the others, and says which went."""
    state = grant_state(grant, now)
    reasons = [GRANT_STATE_REASONS[state]] if state in GRANT_STATE_REASONS else []
    if not grant.service.is_active:
        reasons.append("service inactive")
    reasons += grant_blockers(grant, offered)
    usable = (
        state == "live" and grant.service.is_active and grant.identity.status == Status.ACTIVE
        and any(scope in offered for scope in grant.scopes)
    )
    return usable, reasons


def token_state(token: IssuedToken, now=None) -> str:
    now = now or timezone.now()
    if token.revoked_at:
        return "revoked"
    return "expired" if token.expires_at <= now else "live"


def signing_keys() -> QuerySet:
    """The portal's keys in the order they serve: next, active, retiring, retired; newest first
    within a state. Ordered in SQL, so a page reads only its own keys."""
    order = Case(*(When(state=state, then=Value(rank)) for rank, state in enumerate(KeyState.values)))
    return SigningKey.objects.defer("private_key_encrypted").order_by(order, "-created_at", "-pk")


def platforms(model=TrustDomain) -> QuerySet:
    """Trust domains (or federated issuers), each with how many enabled credentials name it."""
    return model.objects.annotate(
        credential_count=Count("credentials", filter=Q(credentials__enabled=True))
    ).order_by("name")


def identity_exposures(identity, limit: int = 5) -> list:
    """The identity's latest exposure reports (its credentials panel), newest first."""
    return list(Exposure.objects.filter(identity=identity).order_by("-contained_at")[:limit])


def identity_credentials(identity) -> QuerySet:
    """The identity's workload credentials (its credentials panel), enabled first, newest first,
    each with its last_token_at."""
    return with_last_token_at(WorkloadCredential.objects.filter(identity=identity)).select_related(
        "trust_domain", "federated_issuer", "created_by"
    ).order_by("-enabled", "-created_at")


def connection_facts(identity) -> dict:
    """What an agent's developer needs to get its first token: its enabled credentials (the
    key ids to sign with) and the services it may call now, with the scopes granted."""
    now = timezone.now()
    live = (
        Grant.objects.filter(identity=identity, revoked_at__isnull=True, starts_at__lte=now, ends_at__gt=now)
        .select_related("service").order_by("service__name")
    )
    credentials = list(
        WorkloadCredential.objects.filter(identity=identity, enabled=True).select_related("federated_issuer").order_by("-created_at")
    )
    first = credentials[0] if credentials else None
    return {
        "credentials": credentials,
        "grants": list(live),
        "platform": platform_of(first) if first and first.kind == CredentialKind.FEDERATED else "",
    }


@dataclass
class AccessPanel:
    grants: list
    tasks: list
    task_count: int
    open_task_count: int
    live_token_count: int
    lent_to: list  # live delegations: who may act for this identity
    acts_for: list  # live delegations: whom this identity may act for
    waiting_requests: list  # access requests still waiting for a decision
    window_days: int  # the window each grant's use (grant.use) is read over


def _mark_visible(delegations: list, user, field: str) -> list:
    """Mark whether the user may see each delegation's other identity: the panel names it only
    then, else shows its client_id (which whoever lent it typed)."""
    others = [getattr(d, f"{field}_id") for d in delegations]
    seen = set(visible_identities(user).filter(pk__in=others).values_list("pk", flat=True)) if others else set()
    for d in delegations:
        d.other_visible = getattr(d, f"{field}_id") in seen
    return delegations


def identity_access(identity, user) -> AccessPanel:
    """Grants, the latest tasks with their latest tokens, and counts: what the identity holds and
    did, as the user reads it."""
    now = timezone.now()
    grants = list(Grant.objects.filter(identity=identity).select_related("service").order_by("revoked_at", "-ends_at"))
    # The open access review each grant waits in, if any: its owners see their access is being reviewed.
    in_review = dict(
        AccessReviewItem.objects.filter(grant__in=grants, decision="", review__closed_at__isnull=True)
        .values_list("grant_id", "review_id")
    )
    for grant in with_uses(grants):
        grant.state = grant_state(grant, now)
        grant.review_id = in_review.get(grant.pk)
    # Each task's latest tokens in one query for all the tasks shown (a sliced prefetch: a
    # window function per task), not one per task.
    recent_tokens = Prefetch(
        "tokens", queryset=IssuedToken.objects.order_by("-issued_at")[:PANEL_TOKENS_PER_TASK], to_attr="recent_tokens"
    )
    tasks = list(
        Task.objects.filter(identity=identity)
        .select_related("service", "parent")
        .annotate(token_count=Count("tokens"))
        .prefetch_related(recent_tokens)
        .order_by("-opened_at")[:PANEL_TASKS]
    )
    for task in tasks:
        for token in task.recent_tokens:
            token.state = token_state(token, now)
    counts = Task.objects.filter(identity=identity).aggregate(total=Count("pk"), open=Count("pk", filter=Q(ended_at__isnull=True)))
    return AccessPanel(
        grants=grants,
        tasks=tasks,
        task_count=counts["total"],
        open_task_count=counts["open"],
        live_token_count=IssuedToken.objects.filter(identity=identity, revoked_at__isnull=True, expires_at__gt=now).count(),
        lent_to=_mark_visible(
            list(identity.delegations_given.filter(revoked_at__isnull=True).select_related("delegate", "created_by")), user, "delegate",
        ),
        acts_for=_mark_visible(
            list(identity.delegations_received.filter(revoked_at__isnull=True).select_related("principal")), user, "principal",
        ),
        waiting_requests=list(
            identity.access_requests.filter(state__in=PENDING_ACCESS).select_related("service", "requested_by").order_by("requested_at")
        ),
        window_days=window_days(),
    )


def _with_token_count(tasks: QuerySet) -> QuerySet:
    """The tasks each with its token_count: a count per row shown, not a grouping of all the
    tasks before the page is cut."""
    token_count = (
        IssuedToken.objects.filter(task=OuterRef("pk")).order_by().values("task").annotate(n=Count("pk")).values("n")
    )
    return tasks.annotate(token_count=Coalesce(Subquery(token_count), 0))


def identity_tasks(identity) -> QuerySet:
    """Every task of the identity, newest first, each with its token_count."""
    return _with_token_count(Task.objects.filter(identity=identity)).select_related("service", "approved_by").order_by("-opened_at", "-pk")


def task_list(*, user) -> QuerySet:
    """Tasks of the identities the user may see (the one gate, as the tokens list's), newest
    first, each with its identity, service, approver and token_count (a few queries a page)."""
    tasks = visibility.restrict_by_identity(Task.objects.all(), user)
    return _with_token_count(tasks).select_related("identity", "service", "approved_by").order_by("-opened_at", "-pk")


APPROVAL_STATES = ("pending", "decided", "all")


def waiting_for_approval(tasks: QuerySet) -> QuerySet:
    """The tasks among these that wait for a person's decision (not decided, ended or lapsed)."""
    return tasks.filter(
        requires_approval=True, approval_expires_at__isnull=True, ended_at__isnull=True, opened_at__gt=approval_requests_since()
    )


def approval_list(*, user, state: str = "pending") -> QuerySet:
    """Tasks that asked for a person's approval, of the identities the user may see; oldest waiting first."""
    tasks = visibility.restrict_by_identity(Task.objects.filter(requires_approval=True), user).select_related(
        "identity", "service", "approved_by"
    )
    if state == "pending":
        return waiting_for_approval(tasks).order_by("opened_at")
    if state == "decided":
        tasks = tasks.filter(Q(approval_expires_at__isnull=False) | Q(approval_rejected=True))
    return tasks.order_by("-opened_at")


def approval_get(*, user, pk) -> Task:
    """A task that asked for approval, if the user may see its identity (Task.DoesNotExist otherwise)."""
    return approval_list(user=user, state="all").get(pk=pk)


def pending_approval_count(user) -> int:
    """How many tasks wait for this person's decision (0 for people who decide none)."""
    return visibility.restrict_by_identity(waiting_for_approval(Task.objects.all()), user, visibility.APPROVE).count()


def approval_asked_by(task: Task) -> list[str]:
    """The policies whose denial sent this task to a person (from its approval request event)."""
    event = (
        AuditEvent.objects.filter(object_type="tokens.task", object_id=str(task.pk), action="task.approval_request")
        .only("after")
        .first()
    )
    return list((event.after or {}).get("policy_ids", [])) if event else []


def delegation_list(*, user) -> QuerySet:
    """Live and ended delegations where the user may see the identity that lends or the one that acts."""
    visible = visible_identities(user)
    return (
        Delegation.objects.filter(Q(principal__in=visible) | Q(delegate__in=visible))
        .select_related("principal", "delegate", "created_by")
        .order_by("-created_at")
    )


def approvals_to_announce() -> QuerySet:
    """Waiting tasks whose deciders have not been emailed yet (manage.py notify_approvals)."""
    return waiting_for_approval(Task.objects.filter(approval_notice__isnull=True)).select_related("identity", "service").order_by("opened_at")


EXPOSURE_STATES = ("open", "confirmed", "dismissed")


def exposure_list(*, user, state: str = "") -> QuerySet:
    """Reported exposures of the identities the user may see, newest first; state: open (neither
    confirmed nor dismissed), confirmed or dismissed."""
    exposures = visibility.restrict_by_identity(Exposure.objects.all(), user).select_related(
        "identity", "reported_by", "credential", "confirmed_by", "dismissed_by"
    )
    if state == "open":
        return exposures.filter(confirmed_at__isnull=True, dismissed_at__isnull=True)
    if state in ("confirmed", "dismissed"):
        return exposures.filter(**{f"{state}_at__isnull": False})
    return exposures


def exposure_confirm_outcome(exposure: Exposure) -> dict | None:
    """What confirming did, as its exposure.confirm event recorded it: identity_status (as it
    was left), suspends_identity, holds_identity, tokens_revoked, tasks_ended. None before it was
    confirmed. Confirmations recorded before the counts were kept say only suspends_identity."""
    if exposure.confirmed_at is None:
        return None
    after = AuditEvent.objects.filter(
        action="exposure.confirm", object_type=Exposure._meta.label_lower, object_id=str(exposure.pk),
    ).order_by("-id").values_list("after", flat=True).first()
    return after or {}


def exposures_reported_by(user) -> QuerySet:
    """The exposures this person reported, newest first, each marked identity_visible: whether
    they may see its identity (and so the report's page). A reporter who may not learns when,
    how it stands and that it is handled, not whose it was."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Exposure.objects.none()
    seen = visibility.restrict_by_identity(Exposure.objects.filter(reported_by=user), user).values("pk")
    return (
        Exposure.objects.filter(reported_by=user)
        .annotate(identity_visible=Exists(seen.filter(pk=OuterRef("pk"))))
        .select_related("identity")
        .order_by("-contained_at", "-pk")
    )


def exposures_to_announce() -> QuerySet:
    """Exposures whose identity owners have not been emailed yet (manage.py notify_exposures)."""
    return Exposure.objects.filter(told_at__isnull=True).select_related("identity", "credential").order_by("pk")


ACCESS_REQUEST_VIEWS = ("waiting", "mine", "all")


def access_request_list(*, user, view: str = "all", state: str = "") -> QuerySet:
    """Access requests the user may see: of identities they may see, on services they own, or
    asked by them. view "waiting": those waiting for this person's decision, oldest first;
    "mine": those they asked. state: pending, approved, rejected or cancelled."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return AccessRequest.objects.none()
    requests = AccessRequest.objects.select_related("identity", "service", "requested_by", "owner_approved_by", "decided_by")
    if view == "waiting":
        return access_requests_waiting_for(user, requests).order_by("requested_at", "id")
    if view == "mine":
        requests = requests.filter(requested_by=user)
    else:
        seen = visibility.restrict_by_identity(AccessRequest.objects.all(), user).values("pk")
        requests = requests.filter(Q(pk__in=seen) | Q(service__owner=user) | Q(requested_by=user))
    if state == "pending":
        requests = requests.filter(state__in=PENDING_ACCESS)
    elif state in AccessRequestState.values:
        requests = requests.filter(state=state)
    return requests.order_by("-requested_at", "-id")


def access_request_get(*, user, pk) -> AccessRequest:
    """One access request the user may see (AccessRequest.DoesNotExist otherwise)."""
    return access_request_list(user=user).get(pk=pk)


def access_requests_waiting_for(user, requests: QuerySet | None = None) -> QuerySet:
    """Pending requests whose current stage this person decides (the rule of
    tokens/access_requests.may_decide, as a query)."""
    requests = AccessRequest.objects.all() if requests is None else requests
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return requests.none()
    owned = Ownership.objects.filter(person=user).values("identity_id")
    at_owner_stage = Q(state=AccessRequestState.OWNER_REVIEW, identity__in=owned)
    service_stage = Q(state=AccessRequestState.SERVICE_REVIEW) & ~Q(identity__in=owned)
    if not (is_reviewer(user) or is_security_admin(user)):
        service_stage &= Q(service__owner=user)
    return requests.filter(at_owner_stage | service_stage).exclude(requested_by=user)


def waiting_access_request_count(user) -> int:
    return access_requests_waiting_for(user).count()


def live_tokens_by_service(now=None) -> list[tuple[str, int]]:
    """(service name, live tokens) for each service with any, most first: what an emergency
    revoke would end. A token for an audience no service has any more is counted as such."""
    counts = (
        live_tokens(IssuedToken.objects.all(), now).values("audience").annotate(live=Count("pk")).order_by("-live", "audience")
    )
    names = dict(Service.objects.values_list("audience", "name"))
    return [(names.get(row["audience"], row["audience"]), row["live"]) for row in counts]


def owns_services(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and Service.objects.filter(owner=user).exists()
