"""Ownership claims: someone takes over an identity whose owners have all left.

An orphaned identity (no active owner, not offboarded) has no one accountable for it: no
one attests it, asks for its access or ends it. People who may own an identity (the owner or
security admin role, inventory/owner_roles.py) find such identities on /claims/orphaned/ and
claim one, saying why; a reviewer or security admin who is not the claimant approves, which
makes the claimant the primary owner (the former owners stay on as backups, for the record),
or refuses with a reason. Reviewers and compliance staff read claims but make none: an
approved claim would make them owners past their role. Every change writes one audit event.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from nhiportal.conflicts import StateConflict
from nhiportal.audit.services import actor_label, audit_record
from nhiportal.conf import nhi_setting
from nhiportal.mail import send_claimed_rows
from nhiportal.people.selectors import reviewers_and_admins
from nhiportal.people.roles import REVIEWER, SECURITY_ADMIN, roles_of

from . import services
from .models import AIIdentity, ClaimState, OwnershipClaim, OwnerRole, Status
from .owner_roles import OWNING_ROLES, cannot_own, may_own


def is_orphaned(identity: AIIdentity) -> bool:
    return identity.status != Status.OFFBOARDED and not identity.ownerships.filter(person__is_active=True).exists()


def may_claim(user) -> bool:
    """People who may be made owners: an approved claim makes the claimant the primary owner."""
    return bool(roles_of(user) & set(OWNING_ROLES))


CLAIMANTS = "Owners and security admins claim identities: an approved claim makes the claimant its owner."


DECIDING_ROLES = frozenset({REVIEWER, SECURITY_ADMIN})


def may_decide(user, claim: OwnershipClaim) -> bool:
    """A reviewer or security admin who neither made this claim nor has one of their own
    waiting on the same identity (a rival does not judge the competition)."""
    return (
        claim.state == ClaimState.PENDING
        and user.pk != claim.claimant_id
        and bool(roles_of(user) & DECIDING_ROLES)
        and not OwnershipClaim.objects.filter(identity_id=claim.identity_id, claimant=user, state=ClaimState.PENDING).exists()
    )


def may_cancel(user, claim: OwnershipClaim) -> bool:
    return claim.state == ClaimState.PENDING and user.pk == claim.claimant_id


def _repr(claim: OwnershipClaim) -> str:
    """How the audit trail names it (model __str__ knows only ids, to stay query-free)."""
    return f"claim #{claim.pk} on {claim.identity.name} by {claim.claimant.get_username()}"[:200]


def _lock(identity_id) -> AIIdentity:
    return AIIdentity.objects.select_for_update().get(pk=identity_id)


@transaction.atomic
def claim_create(*, actor, identity: AIIdentity, reason: str) -> OwnershipClaim:
    """Claim an orphaned identity; a reviewer decides."""
    if not may_claim(actor):
        raise PermissionDenied(CLAIMANTS)
    identity = _lock(identity.pk)
    if not is_orphaned(identity):
        raise ValidationError({"identity": "This identity has an active owner (or is offboarded): ask its owners to add you."})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why you are accountable for it now: the reviewer reads this."})
    if OwnershipClaim.objects.filter(identity=identity, claimant=actor, state=ClaimState.PENDING).exists():
        raise ValidationError({"identity": "Your claim on this identity already waits for a reviewer."})
    claim = OwnershipClaim.objects.create(identity=identity, claimant=actor, reason=reason)
    audit_record(actor=actor, action="claim.create", obj=claim, object_repr=_repr(claim), identity=identity.pk, after={"claimant": actor.get_username()}, reason=reason)
    return claim


def _waiting(claim: OwnershipClaim, actor, rule, refusal: str) -> OwnershipClaim:
    _lock(claim.identity_id)
    claim = OwnershipClaim.objects.select_related("identity", "claimant").get(pk=claim.pk)
    if claim.state != ClaimState.PENDING:
        raise StateConflict(f"This claim is {claim.get_state_display().lower()}; it no longer waits.")
    if not rule(actor, claim):
        raise PermissionDenied(refusal)
    return claim


def _end(claim: OwnershipClaim, *, actor, state: str, reason: str) -> None:
    claim.state = state
    claim.decided_by = actor
    claim.decided_by_label = actor_label(actor)[:200]
    claim.decided_at = timezone.now()
    claim.decision_reason = reason
    claim.save(update_fields=["state", "decided_by", "decided_by_label", "decided_at", "decision_reason"])


DECIDERS = "A reviewer or security admin who is not the claimant decides a claim."


@transaction.atomic
def claim_approve(*, actor, claim: OwnershipClaim, reason: str = "") -> OwnershipClaim:
    """Make the claimant the primary owner; the former owners become backups."""
    claim = _waiting(claim, actor, may_decide, DECIDERS)
    identity = claim.identity
    if not is_orphaned(identity):
        raise StateConflict("The identity has an active owner again, or was offboarded: refuse this claim, or ask its owners to add the claimant.")
    if not claim.claimant.is_active:
        raise StateConflict("The claimant's account is no longer active.")
    if not may_own(claim.claimant):
        # Their role changed since they claimed: said of the claim, not of an owner field.
        raise StateConflict(f"{cannot_own(claim.claimant)} Refuse this claim.")
    former = [o.person for o in identity.ownerships.select_related("person").exclude(person=claim.claimant).order_by("role")]
    services.identity_owners_set(actor=actor, identity=identity, primary_owner=claim.claimant, backup_owners=former, claim=claim)
    _end(claim, actor=actor, state=ClaimState.APPROVED, reason=(reason or "").strip())
    # The identity has an owner now: the other claims on it can no longer be approved.
    OwnershipClaim.objects.filter(identity=identity, state=ClaimState.PENDING).exclude(pk=claim.pk).update(
        state=ClaimState.CANCELLED, decided_by_label=claim.decided_by_label, decided_at=claim.decided_at,
        decision_reason=f"Claim #{claim.pk} by {claim.claimant.get_username()} was approved.",
    )
    audit_record(
        actor=actor, action="claim.approve", obj=claim, object_repr=_repr(claim), identity=identity.pk,
        before={"state": ClaimState.PENDING}, after={"state": claim.state, "primary_owner": claim.claimant.get_username(), "role": OwnerRole.PRIMARY},
        reason=claim.decision_reason,
    )
    return claim


@transaction.atomic
def claim_reject(*, actor, claim: OwnershipClaim, reason: str) -> OwnershipClaim:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why, for the claimant and the audit trail."})
    claim = _waiting(claim, actor, may_decide, DECIDERS)
    _end(claim, actor=actor, state=ClaimState.REJECTED, reason=reason)
    audit_record(actor=actor, action="claim.reject", obj=claim, object_repr=_repr(claim), identity=claim.identity_id, before={"state": ClaimState.PENDING}, after={"state": claim.state}, reason=reason)
    return claim


@transaction.atomic
def claim_cancel(*, actor, claim: OwnershipClaim, reason: str = "") -> OwnershipClaim:
    claim = _waiting(claim, actor, may_cancel, "Only the claimant withdraws a claim.")
    _end(claim, actor=actor, state=ClaimState.CANCELLED, reason=(reason or "").strip())
    audit_record(actor=actor, action="claim.cancel", obj=claim, object_repr=_repr(claim), identity=claim.identity_id, before={"state": ClaimState.PENDING}, after={"state": claim.state}, reason=claim.decision_reason)
    return claim


def claims_notify(*, actor) -> dict:
    """Email reviewers and security admins a digest of the claims newly waiting (each claim once,
    never to its claimant). Claimed (announced_at) before sending; withdrawn if mail fails."""
    with transaction.atomic():
        waiting = list(
            OwnershipClaim.objects.select_for_update(of=("self",))
            .filter(state=ClaimState.PENDING, announced_at__isnull=True)
            .select_related("identity", "claimant")
            .order_by("claimed_at")
        )
        if not waiting:
            return {"claims": 0, "people": 0}
        digests = {}
        for person in reviewers_and_admins():
            mine = [c for c in waiting if c.claimant_id != person.pk]
            if mine:
                digests[person] = mine
        OwnershipClaim.objects.filter(pk__in=[c.pk for c in waiting]).update(announced_at=timezone.now())
        audit_record(
            actor=actor, action="claims.notify", object_type="inventory.ownershipclaim", object_id="claims",
            object_repr="ownership claim notices", after={"claims": len(waiting), "people": len(digests)},
        )
    base_url = nhi_setting("ISSUER").rstrip("/")

    def body(claims):
        lines = [f"{len(claims)} ownership claim{'s' if len(claims) != 1 else ''} wait{'' if len(claims) != 1 else 's'} for a reviewer:", ""]
        for c in claims:
            lines += [f"- {c.claimant.get_username()} claims {c.identity.name}: {c.reason[:200]}", f"  {base_url}/claims/{c.pk}/"]
        return "\n".join(lines)

    messages = [
        EmailMessage(subject=f"[NHI Portal] {len(mine)} ownership claim{'s' if len(mine) != 1 else ''} to decide", body=body(mine), to=[p.email])
        for p, mine in digests.items()
    ]

    def withdraw(error, claims):
        OwnershipClaim.objects.filter(pk__in=[c.pk for c in claims]).update(announced_at=None)
        audit_record(
            actor=actor, action="claims.notify_failed", object_type="inventory.ownershipclaim", object_id="claims",
            object_repr="ownership claim notices", after={"claims": len(claims)}, reason=str(error)[:200],
        )

    send_claimed_rows(messages, rows_of=list(digests.values()), claimed=waiting, withdraw=withdraw)
    return {"claims": len(waiting), "people": len(digests)}
