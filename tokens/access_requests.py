"""Access requests: an identity asks for scopes on a service for a period, and two people decide.

The stages (ARCHITECTURE.md, "AccessRequest and Grant"):
1. an owner of the identity vouches that the agent needs it. When an active owner asks, their
   request is that vouching; when someone else asks (a security admin, say), another active
   owner of the identity decides.
2. the service's reviewer: the service's owner, a reviewer or a security admin, who neither
   asked nor owns the identity. Approval there makes a time-boxed Grant, in the same
   transaction.

The requester decides no stage of their own request, and either stage may refuse with a
reason. The requester (or a security admin) may cancel while it waits; offboarding the identity
cancels what still waits (tokens/revocation.py). Every change writes one audit event.
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory import visibility
from inventory.models import Ownership
from nhiportal.conflicts import StateConflict
from nhiportal.audit.services import actor_label, audit_record
from nhiportal.conf import nhi_setting
from nhiportal.mail import send_claimed_rows
from nhiportal.people.selectors import reviewers_and_admins
from nhiportal.people.roles import is_reviewer, is_security_admin

from . import services
from .models import PENDING_ACCESS, AccessRequest, AccessRequestState, Service
from .revocation import lock_identity

OWNER_STAGE = "owner"
SERVICE_STAGE = "service"


def _owns(user, identity_id) -> bool:
    return Ownership.objects.filter(identity_id=identity_id, person=user, person__is_active=True).exists()


def may_request(user, identity) -> bool:
    """Owners of the identity and security admins ask for its access."""
    return visibility.can(user, visibility.CHANGE, identity)


def stage_of(access_request: AccessRequest) -> str | None:
    return {
        AccessRequestState.OWNER_REVIEW: OWNER_STAGE,
        AccessRequestState.SERVICE_REVIEW: SERVICE_STAGE,
    }.get(access_request.state)


def may_decide(user, access_request: AccessRequest, *, stage: str | None = None) -> bool:
    """Whether this person decides the stage the request waits at now (or `stage`: the one a
    page showed them before a colleague moved the request on)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.pk == access_request.requested_by_id:
        return False
    stage = stage or stage_of(access_request)
    if stage == OWNER_STAGE:
        return _owns(user, access_request.identity_id)
    if stage == SERVICE_STAGE:
        if _owns(user, access_request.identity_id):
            return False
        return user.pk == access_request.service.owner_id or is_reviewer(user) or is_security_admin(user)
    return False


def takes_part(user) -> bool:
    """Whether anything could ever wait for this person or be theirs: an owner of an identity,
    a service's owner, a reviewer or a security admin. Compliance staff only read."""
    if is_reviewer(user) or is_security_admin(user):
        return True
    return Ownership.objects.filter(person=user).exists() or Service.objects.filter(owner=user).exists()


def may_cancel(user, access_request: AccessRequest) -> bool:
    return access_request.is_pending and (user.pk == access_request.requested_by_id or is_security_admin(user))


def _repr(access_request: AccessRequest) -> str:
    """How the audit trail names it (model __str__ knows only ids, to stay query-free)."""
    return f"access request #{access_request.pk}: {' '.join(access_request.scopes)} on {access_request.service.name} for {access_request.identity.name}"[:200]


def _snapshot(access_request: AccessRequest) -> dict:
    return {
        "identity": str(access_request.identity_id),
        "service": access_request.service.audience,
        "scopes": access_request.scopes,
        "ends_at": access_request.ends_at,
        "state": access_request.state,
    }


def _clean_request(*, identity, service: Service, scopes, ends_at, justification: str) -> tuple[list[str], str]:
    errors = {}
    if identity.is_offboarded:
        errors["identity"] = "An offboarded identity cannot ask for access."
    if not service.is_active:
        errors["service"] = "This service is inactive."
    scopes = sorted(set(scopes or ()))
    offered = set(service.scopes.values_list("name", flat=True))
    unknown = [s for s in scopes if s not in offered]
    if not scopes:
        errors["scopes"] = "Choose at least one scope."
    elif unknown:
        errors["scopes"] = f"The service does not offer: {', '.join(unknown)}."
    now = timezone.now()
    longest = nhi_setting("ACCESS_REQUEST_MAX_DAYS")
    if ends_at <= now:
        errors["ends_at"] = "Choose a moment in the future."
    elif ends_at > now + timedelta(days=longest):
        errors["ends_at"] = f"Ask for at most {longest} days; ask again when it ends."
    justification = (justification or "").strip()
    if not justification:
        errors["justification"] = "Say what the agent needs it for: the deciders read this."
    if errors:
        raise ValidationError(errors)
    return scopes, justification


@transaction.atomic
def access_request_create(*, actor, identity, service: Service, scopes, ends_at, justification: str) -> AccessRequest:
    """Ask that `identity` get `scopes` on `service` until `ends_at`."""
    identity = lock_identity(identity.pk)
    if not may_request(actor, identity):
        raise PermissionDenied("Only the identity's owners or a security admin ask for its access.")
    service = Service.objects.get(pk=service.pk)  # as it is now, not as the caller read it
    scopes, justification = _clean_request(identity=identity, service=service, scopes=scopes, ends_at=ends_at, justification=justification)
    waiting = AccessRequest.objects.filter(identity=identity, service=service, state__in=PENDING_ACCESS).first()
    if waiting is not None:
        raise ValidationError({"service": f"Access request #{waiting.pk} for this identity on this service still waits; decide or cancel it first."})
    now = timezone.now()
    vouched = _owns(actor, identity.pk)
    if not vouched and not Ownership.objects.filter(identity=identity, person__is_active=True).exists():
        raise ValidationError({"identity": "No active owner can vouch for this identity: it must be claimed first (/claims/orphaned/)."})
    access_request = AccessRequest.objects.create(
        identity=identity,
        service=service,
        scopes=scopes,
        ends_at=ends_at,
        justification=justification,
        requested_by=actor,
        requested_at=now,
        state=AccessRequestState.SERVICE_REVIEW if vouched else AccessRequestState.OWNER_REVIEW,
        owner_approved_by=actor if vouched else None,
        owner_approved_at=now if vouched else None,
    )
    audit_record(actor=actor, action="access_request.create", obj=access_request, object_repr=_repr(access_request), identity=identity.pk, after=_snapshot(access_request), reason=justification)
    return access_request


def _waiting_to_decide(*, actor, access_request: AccessRequest) -> AccessRequest:
    """The request re-read under its identity's lock, if it still waits and this person decides it."""
    seen = stage_of(access_request)
    lock_identity(access_request.identity_id)
    access_request = AccessRequest.objects.select_related("identity", "service").get(pk=access_request.pk)
    if not access_request.is_pending:
        raise StateConflict(f"This request is {access_request.get_state_display().lower()}; it no longer waits for a decision.")
    if not may_decide(actor, access_request):
        if stage_of(access_request) != seen and may_decide(actor, access_request, stage=seen):
            # Another owner vouched while this one was deciding (no one decides both stages):
            # their decision is not needed, rather than not theirs to make.
            raise StateConflict("An owner of the identity approved it meanwhile; it now waits for the service's reviewer.")
        raise PermissionDenied(
            "The requester decides no stage of their own request; an owner of the identity decides the first stage, "
            "and the service's owner, a reviewer or a security admin who does not own the identity decides the second."
        )
    return access_request


def _end(access_request: AccessRequest, *, actor, state: str, reason: str) -> None:
    access_request.state = state
    access_request.decided_by = actor if getattr(actor, "pk", None) else None
    access_request.decided_by_label = actor_label(actor)[:200]
    access_request.decided_at = timezone.now()
    access_request.decision_reason = reason
    access_request.save(update_fields=["state", "decided_by", "decided_by_label", "decided_at", "decision_reason", "grant"])


@transaction.atomic
def access_request_approve(*, actor, access_request: AccessRequest, reason: str = "") -> AccessRequest:
    """Approve the stage the request waits at; at the service stage this makes the Grant."""
    access_request = _waiting_to_decide(actor=actor, access_request=access_request)
    reason = (reason or "").strip()
    if access_request.state == AccessRequestState.OWNER_REVIEW:
        access_request.state = AccessRequestState.SERVICE_REVIEW
        access_request.owner_approved_by = actor
        access_request.owner_approved_at = timezone.now()
        access_request.save(update_fields=["state", "owner_approved_by", "owner_approved_at"])
        audit_record(
            actor=actor, action="access_request.approve", obj=access_request, object_repr=_repr(access_request), identity=access_request.identity_id,
            before={"state": AccessRequestState.OWNER_REVIEW}, after={"state": access_request.state, "stage": OWNER_STAGE}, reason=reason,
        )
        return access_request
    # grant_create checks the request against today's service and identity once more (a scope
    # withdrawn meanwhile, an end date now past) and refuses with the reason.
    access_request.grant = services.grant_create(
        actor=actor,
        identity=access_request.identity,
        service=access_request.service,
        scopes=access_request.scopes,
        ends_at=access_request.ends_at,
        justification=f"Access request #{access_request.pk}: {access_request.justification}",
    )
    _end(access_request, actor=actor, state=AccessRequestState.APPROVED, reason=reason)
    audit_record(
        actor=actor, action="access_request.approve", obj=access_request, object_repr=_repr(access_request), identity=access_request.identity_id,
        before={"state": AccessRequestState.SERVICE_REVIEW},
        after={"state": access_request.state, "stage": SERVICE_STAGE, "grant": access_request.grant.pk}, reason=reason,
    )
    return access_request


@transaction.atomic
def access_request_reject(*, actor, access_request: AccessRequest, reason: str) -> AccessRequest:
    """Refuse the request at the stage it waits at, with the reason the requester will read."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why, for the requester and the audit trail."})
    access_request = _waiting_to_decide(actor=actor, access_request=access_request)
    before = access_request.state
    _end(access_request, actor=actor, state=AccessRequestState.REJECTED, reason=reason)
    audit_record(
        actor=actor, action="access_request.reject", obj=access_request, object_repr=_repr(access_request), identity=access_request.identity_id,
        before={"state": before}, after={"state": access_request.state}, reason=reason,
    )
    return access_request


@transaction.atomic
def access_request_cancel(*, actor, access_request: AccessRequest, reason: str = "") -> AccessRequest:
    """The requester (or a security admin) withdraws a request that still waits."""
    lock_identity(access_request.identity_id)
    access_request = AccessRequest.objects.select_related("identity", "service").get(pk=access_request.pk)
    if not access_request.is_pending:
        raise StateConflict(f"This request is {access_request.get_state_display().lower()}; there is nothing to cancel.")
    if not may_cancel(actor, access_request):
        raise PermissionDenied("Only the requester or a security admin cancels a request.")
    before = access_request.state
    _end(access_request, actor=actor, state=AccessRequestState.CANCELLED, reason=(reason or "").strip())
    audit_record(
        actor=actor, action="access_request.cancel", obj=access_request, object_repr=_repr(access_request), identity=access_request.identity_id,
        before={"state": before}, after={"state": access_request.state}, reason=access_request.decision_reason,
    )
    return access_request



def deciders_of(access_request: AccessRequest) -> list:
    """Who decides the stage the request waits at and can be mailed (may_decide, as people)."""
    owners = {o.person for o in Ownership.objects.filter(identity_id=access_request.identity_id, person__is_active=True).select_related("person")}
    if access_request.state == AccessRequestState.OWNER_REVIEW:
        people = owners
    elif access_request.state == AccessRequestState.SERVICE_REVIEW:
        people = set(reviewers_and_admins())
        if access_request.service.owner.is_active:
            people.add(access_request.service.owner)
        people -= owners
    else:
        people = set()
    return sorted((p for p in people if p.email and p.pk != access_request.requested_by_id), key=lambda p: p.pk)


def _digest(requests: list, base_url: str) -> str:
    lines = [f"{len(requests)} access request{'s' if len(requests) != 1 else ''} wait{'' if len(requests) != 1 else 's'} for your decision:", ""]
    for r in requests:
        stage = "as an owner of the identity" if r.state == AccessRequestState.OWNER_REVIEW else "for the service"
        lines.append(f"- {r.identity.name} asks for {' '.join(r.scopes)} on {r.service.name} until {r.ends_at:%Y-%m-%d} ({stage}), asked by {r.requested_by.get_username()}")
        lines.append(f"  {base_url}/access-requests/{r.pk}/")
    return "\n".join(lines)


def access_requests_lapse(*, actor, now=None) -> int:
    """Cancel the requests still waiting when the end date they asked for has passed: nothing
    is left to grant. Recorded on the rows and in one audit event."""
    now = now or timezone.now()
    with transaction.atomic():
        lapsed = AccessRequest.objects.filter(state__in=PENDING_ACCESS, ends_at__lte=now).update(
            state=AccessRequestState.CANCELLED, decided_by_label=actor_label(actor)[:200], decided_at=now,
            decision_reason="Its end date passed before anyone decided.",
        )
        if lapsed:
            audit_record(
                actor=actor, action="access_requests.lapse", object_type="tokens.accessrequest", object_id="access-requests",
                object_repr="access requests past their end date", after={"cancelled": lapsed},
            )
    return lapsed


def access_requests_notify(*, actor) -> dict:
    """Email the deciders of each request's current stage, once per stage.

    The requests are claimed (announced_state) before any mail goes out, so two runs never both
    send; if the mail server refuses, the claims are withdrawn and the next run tries again.
    """
    with transaction.atomic():
        waiting = list(
            AccessRequest.objects.select_for_update(of=("self",))
            .filter(state__in=PENDING_ACCESS).exclude(announced_state=F("state"))
            .select_related("identity", "service__owner", "requested_by")
        )
        if not waiting:
            return {"requests": 0, "people": 0}
        digests = {}
        for access_request in waiting:
            for person in deciders_of(access_request):
                digests.setdefault(person, []).append(access_request)
        before = {r.pk: r.announced_state for r in waiting}
        for state in {r.state for r in waiting}:
            AccessRequest.objects.filter(pk__in=[r.pk for r in waiting if r.state == state]).update(announced_state=state)
        audit_record(
            actor=actor, action="access_requests.notify", object_type="tokens.accessrequest", object_id="access-requests",
            object_repr="access request notices", after={"requests": len(waiting), "people": len(digests)},
        )
    base_url = nhi_setting("ISSUER").rstrip("/")
    messages = [
        EmailMessage(
            subject=f"[NHI Portal] {len(mine)} access request{'s wait' if len(mine) != 1 else ' waits'} for your decision",
            body=_digest(mine, base_url), to=[person.email],
        )
        for person, mine in digests.items()
    ]

    def withdraw(error, requests):
        for access_request in requests:
            AccessRequest.objects.filter(pk=access_request.pk).update(announced_state=before[access_request.pk])
        audit_record(
            actor=actor, action="access_requests.notify_failed", object_type="tokens.accessrequest", object_id="access-requests",
            object_repr="access request notices", after={"requests": len(requests)}, reason=str(error)[:200],
        )

    send_claimed_rows(messages, rows_of=list(digests.values()), claimed=waiting, withdraw=withdraw)
    return {"requests": len(waiting), "people": len(digests)}
