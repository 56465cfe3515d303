"""Ending access: revoking tokens, ending tasks, and what an identity leaving service takes with it.

Every write here first locks the identity row (FOR UPDATE). Issuance holds the same row
FOR SHARE while it decides and writes a token, so a revocation either sees the new token
and revokes it, or runs before issuance, which then sees the changed state and refuses.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from inventory.lifecycle import OFFBOARD
from inventory.models import AIIdentity
from nhiportal.audit.services import actor_label, audit_record

from .models import PENDING_ACCESS, AccessRequest, AccessRequestState, Delegation, Grant, IssuedToken, Task, WorkloadCredential


def lock_identity(identity_id) -> AIIdentity:
    return AIIdentity.objects.select_for_update().get(pk=identity_id)


def live_tokens(queryset: QuerySet, now=None) -> QuerySet:
    return queryset.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


def revoke_matching(queryset: QuerySet, *, label: str, reason: str, now=None) -> int:
    """Revoke the live tokens of queryset and every token exchanged from them. Returns the count.

    Set at a time, in SQL: an emergency revokes hundreds of thousands of rows, more than a
    list of ids may hold (SQLite takes 250,000 variables a statement). The tokens exchanged
    from those just revoked are found by their parent's revocation, one generation a pass."""
    now = now or timezone.now()
    fields = {"revoked_at": now, "revoked_by_label": label[:200], "revoke_reason": reason[:200]}
    revoked = frontier = live_tokens(queryset, now).update(**fields)
    while frontier:
        frontier = IssuedToken.objects.filter(
            revoked_at__isnull=True, parent__revoked_at=now, parent__revoke_reason=fields["revoke_reason"],
        ).update(**fields)
        revoked += frontier
    return revoked


def _task_tree(task_ids: list) -> list:
    found, frontier = list(task_ids), list(task_ids)
    while frontier:
        frontier = list(Task.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        found.extend(frontier)
    return found


def _end_task_tree(task_ids: list, *, label: str, reason: str, now) -> tuple[int, int]:
    """End these tasks and their sub-tasks; revoke all their tokens. Returns (tasks ended, tokens revoked)."""
    tree = _task_tree(task_ids)
    ended = Task.objects.filter(pk__in=tree, ended_at__isnull=True).update(
        ended_at=now, ended_by_label=label[:200], end_reason=reason
    )
    return ended, revoke_matching(IssuedToken.objects.filter(task_id__in=tree), label=label, reason=reason, now=now)


def end_tasks(task_ids: list, *, label: str, reason: str, now=None) -> int:
    """End these tasks and their sub-tasks; revoke all their tokens. Returns tokens revoked."""
    return _end_task_tree(task_ids, label=label, reason=reason, now=now or timezone.now())[1]


def _exchanged_from(token_pk) -> list[tuple]:
    """(identity, task) of every token exchanged from this one, at any depth, live or not: each
    exchange opened its task (issuance.token_exchange), a sub-task its agent may join by task_id."""
    found, frontier = [], [token_pk]
    while frontier:
        rows = list(IssuedToken.objects.filter(parent_id__in=frontier).values_list("pk", "identity_id", "task_id"))
        found.extend((identity, task) for _, identity, task in rows)
        frontier = [pk for pk, _, _ in rows]
    return found


@transaction.atomic
def token_revoke(*, token: IssuedToken, actor, reason: str = "") -> int:
    """Revoke one token (RFC 7009, or an owner in the portal) and what came from it: the tokens
    exchanged from it, and the sub-tasks those exchanges opened, with every token in them. A
    sub-task is joined by task_id with no parent token, so only ending it stops its agent (a
    helper acting for this token's holder, or the holder itself) getting more there. The
    token's own task goes on: this gives back one token, not the task (task_end does that).
    Returns how many tokens were revoked; one event counts them and the sub-tasks ended."""
    # Every agent holding a sub-task is locked with the holder, in issuance's order (by id), so
    # a request joining one either commits first, and its token is revoked here, or waits and
    # finds the sub-task ended. An exchange locks the holder's row (an ancestor), so none is
    # opened once we hold it; one opened meanwhile by an agent not seen before is locked after.
    held = set()
    for identity_id in sorted({str(token.identity_id)} | {str(i) for i, _ in _exchanged_from(token.pk)}):
        lock_identity(identity_id)
        held.add(identity_id)
    exchanged = _exchanged_from(token.pk)
    for identity_id in sorted({str(i) for i, _ in exchanged} - held):
        lock_identity(identity_id)
    reason = reason.strip() or "Revoked by its holder."
    label, now = actor_label(actor), timezone.now()
    count = revoke_matching(IssuedToken.objects.filter(pk=token.pk), label=label, reason=reason, now=now)
    subtasks = list(Task.objects.filter(pk__in={task for _, task in exchanged}, ended_at__isnull=True).values_list("pk", flat=True))
    tasks_ended, in_subtasks = _end_task_tree(subtasks, label=label, reason=f"Sub-task of a revoked token: {reason}", now=now)
    count += in_subtasks
    if count or tasks_ended:
        # Tokens are named by jti in the audit log (as token.issue does): it outlives the ledger row.
        audit_record(
            actor=actor, action="token.revoke", object_type="tokens.issuedtoken", object_id=token.jti,
            object_repr=f"token {token.jti[:8]}…", identity=token.identity_id,
            after={"revoked": count, **({"tasks_ended": tasks_ended} if tasks_ended else {})}, reason=reason,
        )
    return count


@transaction.atomic
def task_end(*, task: Task, actor, reason: str = "") -> int:
    """End a task (the agent, or an owner in the portal): revoke its tokens and its sub-tasks'."""
    lock_identity(task.identity_id)
    task = Task.objects.get(pk=task.pk)
    if task.ended_at is not None:
        return 0
    reason = reason.strip() or "Task ended."
    now = timezone.now()
    count = end_tasks([task.pk], label=actor_label(actor), reason=reason, now=now)
    audit_record(
        actor=actor, action="task.end", obj=task, object_repr=f"task {task.pk}",
        after={"ended_at": now, "tokens_revoked": count}, reason=reason,
    )
    return count


@transaction.atomic
def tokens_revoke_all(*, actor, reason: str, service=None) -> int:
    """Emergency: revoke every live token (or every one for one service), with what was
    exchanged from them. Tokens issued after this commits are not affected: to stop an agent,
    suspend it; to distrust a signing key, report it compromised. Returns the count."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why: the audit trail and every revoked token keep it."})
    tokens = IssuedToken.objects.filter(audience=service.audience) if service is not None else IssuedToken.objects.all()
    revoked = revoke_matching(tokens, label=actor_label(actor), reason=f"Emergency: {reason}")
    audit_record(
        actor=actor, action="tokens.emergency_revoke",
        object_type="tokens.service" if service is not None else "tokens.issuedtoken",
        object_id=str(service.pk) if service is not None else "all",
        object_repr=f"every live token for {service.name}" if service is not None else "every live token",
        after={"tokens_revoked": revoked, "service": service.audience if service is not None else None},
        reason=reason,
    )
    return revoked


def revoke_not_covered_by_grants(*, identity_id, service, label: str, reason: str, now=None) -> int:
    """After a grant ends: revoke the live tokens on the service whose scopes the remaining grants no longer cover."""
    now = now or timezone.now()
    covered = set()
    for scopes in Grant.objects.filter(
        identity_id=identity_id, service=service, revoked_at__isnull=True, starts_at__lte=now, ends_at__gt=now
    ).values_list("scopes", flat=True):
        covered.update(scopes)
    tokens = live_tokens(IssuedToken.objects.filter(identity_id=identity_id, audience=service.audience), now)
    uncovered = [pk for pk, scopes in tokens.values_list("pk", "scopes") if not set(scopes) <= covered]
    return revoke_matching(IssuedToken.objects.filter(pk__in=uncovered), label=label, reason=reason, now=now)


def on_identity_deactivated(sender, *, identity, action, actor, reason="", **kwargs) -> dict:
    """inventory.lifecycle.identity_deactivated: runs inside the suspend/offboard transaction.

    The transition writes the one audit event, with the counts this answers (only those not
    zero); each row taken records by whom and why itself.
    """
    now = timezone.now()
    label = actor_label(actor)
    why = f"Identity {'offboarded' if action == OFFBOARD else 'suspended'}" + (f": {reason.strip()}" if reason.strip() else "")
    why = why[:200]
    # Its open tasks end whether it leaves for good or for a while: else, once reactivated, the
    # agent (or a delegate acting in a sub-task) could join a task opened before by its task_id.
    open_tasks = list(Task.objects.filter(identity=identity, ended_at__isnull=True).values_list("pk", flat=True))
    taken = {"tokens_revoked": end_tasks(open_tasks, label=label, reason=why, now=now), "tasks_ended": len(open_tasks)}
    if action == OFFBOARD:
        taken["grants_revoked"] = Grant.objects.filter(identity=identity, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by_label=label[:200], revoke_reason=why
        )
        taken["credentials_disabled"] = WorkloadCredential.objects.filter(identity=identity, enabled=True).update(
            enabled=False, disabled_at=now, disabled_by_label=label[:200], disable_reason=why
        )
        # Neither acting for others nor letting them act for it outlives the identity: its rows
        # would read as live on both identities' pages. Their tokens go with its own below
        # (revoke_matching follows every exchange).
        taken["delegations_ended"] = Delegation.objects.filter(
            Q(principal=identity) | Q(delegate=identity), revoked_at__isnull=True,
        ).update(revoked_at=now, revoked_by_label=label[:200], revoke_reason=why)
        # What still waits will never be granted.
        taken["access_requests_cancelled"] = AccessRequest.objects.filter(identity=identity, state__in=PENDING_ACCESS).update(
            state=AccessRequestState.CANCELLED, decided_by_label=label[:200], decided_at=now, decision_reason=why
        )
    taken["tokens_revoked"] += revoke_matching(IssuedToken.objects.filter(identity=identity), label=label, reason=why, now=now)
    return {name: count for name, count in taken.items() if count}
