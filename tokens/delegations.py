"""Delegation: an identity's owners let another identity act for it.

An orchestrating agent hands part of a task to a helper agent. Without delegation the helper
would need the orchestrator's key, or a token it has no record of. With it, the helper
authenticates as itself and exchanges the orchestrator's token (RFC 8693, subject_token) into
a narrower one: `sub` stays the orchestrator, `client_id` is the helper, and the `act` claim
names the helper (and whoever acted before it). The helper's own grants bound the scopes too,
and the new token dies with the token it came from, its task, and the delegation.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from inventory import visibility
from inventory.models import AIIdentity, Status
from nhiportal.audit.services import actor_label, audit_record

from .models import Delegation, IssuedToken, Task
from .revocation import end_tasks, live_tokens, lock_for_revoking, lock_identity, revoke_matching


# The refusal the service and the API give alike.
ENDERS = "Only the identity's owners or a security admin end its delegations."


def _snapshot(delegation: Delegation) -> dict:
    return {"principal": str(delegation.principal_id), "delegate": str(delegation.delegate_id), "reason": delegation.reason}


@transaction.atomic
def delegation_create(*, actor, principal: AIIdentity, delegate_id, reason: str) -> Delegation:
    """Let `delegate_id` (an identity's client_id) act for `principal`. The principal's owners
    (or a security admin) decide: it is the principal's authority being lent."""
    if not visibility.can(actor, visibility.CHANGE, principal):
        raise PermissionDenied("Only the identity's owners or a security admin lend its authority.")
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why this identity may act for it."})
    delegate = AIIdentity.objects.filter(pk=delegate_id).first()
    # The delegate is often another team's agent, known to the owner by its client_id alone:
    # whether it was offboarded is not theirs to learn, so to them it is simply gone.
    gone = delegate is not None and delegate.status == Status.OFFBOARDED and not visibility.can(actor, visibility.VIEW, delegate)
    if delegate is None or gone:
        raise ValidationError({"delegate": "No identity has this client_id."})
    if delegate.pk == principal.pk:
        raise ValidationError({"delegate": "An identity already acts for itself."})
    if delegate.status == Status.OFFBOARDED or principal.status == Status.OFFBOARDED:
        raise ValidationError({"delegate": "Offboarded identities neither act nor lend."})
    lock_identity(principal.pk)
    if Delegation.objects.filter(principal=principal, delegate=delegate, revoked_at__isnull=True).exists():
        named = delegate.name if visibility.can(actor, visibility.VIEW, delegate) else "That identity"
        raise ValidationError({"delegate": f"{named} may already act for {principal.name}."})
    delegation = Delegation.objects.create(principal=principal, delegate=delegate, reason=reason, created_by=actor)
    audit_record(
        actor=actor, action="delegation.create", obj=delegation, object_repr=f"{delegate.name} acts for {principal.name}",
        identity=principal.pk, after=_snapshot(delegation), reason=reason,
    )
    return delegation


@transaction.atomic
def delegation_revoke(*, actor, delegation: Delegation, reason: str) -> int:
    """End a delegation: the sub-tasks the delegate opened under it end (their own sub-tasks
    too), so it can no longer join one by task_id, and every token in them is revoked, with
    the tokens exchanged from the principal's that sit elsewhere. Returns how many tokens were
    revoked; the one event counts them and the tasks ended."""
    if not visibility.can(actor, visibility.CHANGE, delegation.principal):
        raise PermissionDenied(ENDERS)
    reason = reason.strip() or "Delegation ended."
    # A sub-task of the delegate's under one of the principal's tasks was opened by exchanging
    # the principal's token, which only a delegation allows (one live per pair at a time). The
    # tokens it got there by task_id have no parent token: ending the task is what reaches them.
    subtasks = Task.objects.filter(
        identity_id=delegation.delegate_id, parent__identity_id=delegation.principal_id, ended_at__isnull=True,
    ).values_list("pk", flat=True)
    exchanged = IssuedToken.objects.filter(identity_id=delegation.delegate_id, parent__identity_id=delegation.principal_id)
    # The delegate's row is the one its token exchanges lock: none slips past this. The agents
    # of the sub-tasks under those (a delegate's delegate) are held too, so none joins one
    # after its tokens are revoked.
    lock_for_revoking([delegation.delegate_id], live_tokens(exchanged), tasks=subtasks)
    delegation = Delegation.objects.select_related("principal", "delegate").get(pk=delegation.pk)
    if delegation.revoked_at is not None:
        return 0
    now = timezone.now()
    delegation.revoked_at, delegation.revoked_by_label, delegation.revoke_reason = now, actor_label(actor)[:200], reason[:200]
    delegation.save(update_fields=["revoked_at", "revoked_by_label", "revoke_reason"])
    label, why = actor_label(actor), f"Delegation ended: {reason}"[:200]
    revoked = end_tasks(list(subtasks), label=label, reason=why, now=now)
    revoked += revoke_matching(exchanged, label=label, reason=why, now=now)
    audit_record(
        actor=actor, action="delegation.revoke", obj=delegation,
        object_repr=f"{delegation.delegate.name} acts for {delegation.principal.name}",
        identity=delegation.principal_id,
        after={"revoked_at": now, **revoked.counts()},
        reason=reason,
    )
    return revoked.tokens


def delegation_live(*, principal_id, delegate_id) -> bool:
    return Delegation.objects.filter(principal_id=principal_id, delegate_id=delegate_id, revoked_at__isnull=True).exists()
