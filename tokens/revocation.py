"""Ending access: revoking tokens, ending tasks, and what an identity leaving service takes with it.

Every write here first locks the identity row (FOR UPDATE). Issuance holds the same row
FOR SHARE while it decides and writes a token, so a revocation either sees the new token
and revokes it, or runs before issuance, which then sees the changed state and refuses.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Case, Q, QuerySet, Value, When
from django.utils import timezone

from inventory.lifecycle import OFFBOARD
from inventory.models import AIIdentity
from nhiportal.audit.services import actor_label, audit_record

from .models import PENDING_ACCESS, AccessRequest, AccessRequestState, Delegation, Grant, IssuedToken, Task, WorkloadCredential
from .exchange_chains import Walk, planned_plainly, rows


def lock_identity(identity_id) -> AIIdentity:
    return AIIdentity.objects.select_for_update().get(pk=identity_id)


def live_tokens(queryset: QuerySet, now=None) -> QuerySet:
    return queryset.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


@dataclass(frozen=True)
class Revoked:
    """What a revocation took: tokens, and the sub-tasks opened by exchanging them, which end."""

    tokens: int = 0
    tasks_ended: int = 0

    def __add__(self, other: "Revoked") -> "Revoked":
        return Revoked(self.tokens + other.tokens, self.tasks_ended + other.tasks_ended)

    def counts(self) -> dict:
        """For an audit event: tokens_revoked, and tasks_ended when any ended (as token.revoke)."""
        return {"tokens_revoked": self.tokens, **({"tasks_ended": self.tasks_ended} if self.tasks_ended else {})}


_UNREVOKED, _OPEN = "child.revoked_at IS NULL", "child.ended_at IS NULL"


def taking(walk: Walk, tokens: QuerySet, *, ending: str | None = None, now) -> tuple[str, str, str]:
    """Name in walk what revoking `tokens` takes, with the open tasks of `ending` (a set named in
    walk, or None): (revoked, ended, reached).

    revoked: the live tokens of `tokens` and every unrevoked one exchanged from them. ended: the
    open tasks of `ending`, and the open sub-tasks that exchanges of the revoked tokens opened (a
    child revoked before, given back by its helper, still left its sub-task open), with every
    open task under them. reached: the revoked tokens, with the live ones in the ended tasks and
    every unrevoked one exchanged from those. Their agents joined those tasks by task_id with
    tokens that have no parent token, so only ending the task reaches those, and stops more. An
    exchange's task is a sub-task of its subject token's task, so the tokens exchanged from
    those in an ended task are in the ended tasks too. The revoked tokens' own tasks go on."""
    revoked = walk.down("revoked", live_tokens(tokens, now), step=_UNREVOKED)
    # Every exchange opened its own task (issuance.token_exchange), its token the first there.
    opened = IssuedToken.objects.filter(parent_id__in=rows(revoked)).values("task_id")
    walk.down("opened", Task.objects.filter(ended_at__isnull=True, pk__in=opened), step=_OPEN)
    ends = walk.either("ends", "opened", ending) if ending else "opened"
    ended = walk.set("ended", Task.objects.filter(pk__in=rows(ends), ended_at__isnull=True))
    in_ended = walk.down("in_ended", live_tokens(IssuedToken.objects.filter(task_id__in=rows(ended)), now), step=_UNREVOKED)
    return revoked, ended, walk.either("reached", revoked, in_ended)


def task_tree(walk: Walk, task_ids) -> str:
    """Name in walk these tasks (ids, or a query of them) and every task under them, ended or not."""
    return walk.down("tree", Task.objects.filter(pk__in=task_ids))


def left_open_by_exchanges(walk: Walk, token_pk) -> str:
    """Name in walk the open tasks that exchanges of this token opened, at any depth, live or
    not (a helper gives back its token, not the sub-task), with every open task under them."""
    exchanged = walk.down("exchanged", IssuedToken.objects.filter(pk=token_pk))
    opened = IssuedToken.objects.filter(pk__in=rows(exchanged)).exclude(pk=token_pk).values("task_id")
    return walk.down("ending", Task.objects.filter(ended_at__isnull=True, pk__in=opened), step=_OPEN)


def _take(chains: Callable[[Walk], tuple[QuerySet, str | None]], *, label: str, reason: str, now, ending_reason: str | None = None) -> Revoked:
    """Revoke and end what `taking` names for the tokens, and the tasks (a set, or None), that
    chains(walk) names. The revoked tokens are revoked for `reason`; the ended tasks, and the
    tokens only they reached, as sub-tasks of a revoked token (the tasks of a task tree for
    ending_reason, when given: task_tree names a tree whatever its rows' state).

    Set at a time, in SQL: an emergency revokes hundreds of thousands of rows, more than a list
    of ids may hold. The walk is read once, before any row changes (Walk.read_once), and each
    write takes its rows from what it read: the tokens only the ended tasks reached, the tasks,
    then the revoked tokens."""
    walk = Walk()
    tokens, ending = chains(walk)
    revoked, ended, reached = taking(walk, tokens, ending=ending, now=now)
    only_reached = walk.but("only_reached", reached, revoked)
    why = f"Sub-task of a revoked token: {reason}"
    revoking = {"revoked_at": now, "revoked_by_label": label[:200]}
    with walk.read_once(only_reached, ended, revoked, *([ending] if ending_reason is not None else [])) as read:
        # Unrevoked (unended) still: a revocation that locks other identities (an emergency, a
        # grant ending) may have committed since the walk was read; its record stands.
        in_subtasks = IssuedToken.objects.filter(pk__in=read.ids(only_reached), revoked_at__isnull=True).update(**revoking, revoke_reason=why[:200])
        end_reason = Value(why) if ending_reason is None else Case(
            When(pk__in=read.ids(ending), then=Value(ending_reason)), default=Value(why),
        )
        tasks = Task.objects.filter(pk__in=read.ids(ended), ended_at__isnull=True).update(ended_at=now, ended_by_label=label[:200], end_reason=end_reason)
        tokens = IssuedToken.objects.filter(pk__in=read.ids(revoked), revoked_at__isnull=True).update(**revoking, revoke_reason=reason[:200])
    return Revoked(tokens + in_subtasks, tasks)


def revoke_matching(queryset: QuerySet, *, label: str, reason: str, now=None) -> Revoked:
    """Revoke the live tokens of queryset and every token exchanged from them, and end the
    sub-tasks those exchanges opened (a helper's, acting for the holder, or the holder's own),
    with every token in them: a revoked token takes what was opened from it. The revoked
    tokens' own tasks go on (ending a task is task_end's). Every path that revokes tokens
    comes here, so each ends those sub-tasks; its one event counts both (Revoked.counts).
    What it takes is what tokens/ending_previews counts first (`taking`).

    Concurrent joins of those sub-tasks are stopped by holding their agents' rows: a caller
    that locks identities locks them with lock_for_revoking."""
    return _take(lambda walk: (queryset, None), label=label, reason=reason, now=now or timezone.now())


def end_tasks(task_ids: list, *, label: str, reason: str, now=None) -> Revoked:
    """End these tasks (ids) and their sub-tasks; revoke all their tokens, with what came from
    them (revoke_matching)."""
    def chains(walk: Walk) -> tuple[QuerySet, str]:
        tree = task_tree(walk, task_ids)
        return IssuedToken.objects.filter(task_id__in=rows(tree)), tree

    return _take(chains, label=label, reason=reason, now=now or timezone.now(), ending_reason=reason)


def _holders(tokens: QuerySet | None, tasks) -> set[str]:
    """The agents of the open tasks that ending `tasks` (ids or a query of them, with the tasks
    under them) and revoking `tokens` (the sub-tasks their exchanges opened, at any depth, with
    theirs) end."""
    walk = Walk()
    seeds = [walk.set("given", Task.objects.filter(pk__in=tasks))]
    if tokens is not None:
        # Each exchange opened its task (issuance.token_exchange), live or not its token: a
        # sub-task its agent may join by task_id.
        exchanged = walk.down("exchanged", IssuedToken.objects.filter(parent__in=tokens.values("pk")))
        opened = IssuedToken.objects.filter(pk__in=rows(exchanged)).values("task_id")
        seeds.append(walk.set("opened", Task.objects.filter(ended_at__isnull=True, pk__in=opened)))
    tree = walk.down("tree", Task.objects.filter(pk__in=rows(walk.either("seeds", *seeds))))
    held = Task.objects.filter(pk__in=walk.ids(tree), ended_at__isnull=True).values_list("identity_id", flat=True).distinct()
    with planned_plainly():
        return {str(i) for i in held}


class _HoldersGrew(Exception):
    def __init__(self, found: set):
        self.found = found


def lock_for_revoking(identity_ids, tokens: QuerySet | None = None, *, tasks=()) -> None:
    """Lock these identities and every agent holding an open task that revoking `tokens` or
    ending `tasks` (ids) ends, all in one pass in issuance's order (by id: issuance._run), so
    none deadlocks with an exchange holding several.

    A join by task_id locks only its own agent's row: held here, each join either commits
    first, and its token is revoked with the sub-task, or waits and finds the sub-task ended.
    An exchange locks the holders of its subject token (its ancestors, these identities among
    them), so once they are held no sub-task is opened under these tokens or tasks. The
    holders are looked for before locking, so one may have been opened meanwhile by an agent
    not looked for: then the locks taken here are given back (a savepoint rolled back releases
    the row locks taken in it, not those the transaction held before) and all are taken again,
    in order. Rows the caller holds already are locked again at no cost."""
    ids = {str(i) for i in identity_ids}
    wanted = ids | _holders(tokens, tasks)
    while True:
        try:
            with transaction.atomic():
                for identity_id in sorted(wanted):
                    lock_identity(identity_id)
                found = ids | _holders(tokens, tasks)
                if not found <= wanted:
                    raise _HoldersGrew(found)
            return
        except _HoldersGrew as grew:
            wanted |= grew.found


@transaction.atomic
def token_revoke(*, token: IssuedToken, actor, reason: str = "") -> Revoked:
    """Revoke one token (RFC 7009, or an owner in the portal) and what came from it: the tokens
    exchanged from it, and the sub-tasks those exchanges opened, with every token in them. A
    sub-task is joined by task_id with no parent token, so only ending it stops its agent (a
    helper acting for this token's holder, or the holder itself) getting more there. The
    token's own task goes on: this gives back one token, not the task (task_end does that).
    Revoked again (or expired), it still ends the sub-tasks left open. One event counts both."""
    this = IssuedToken.objects.filter(pk=token.pk)
    lock_for_revoking([token.identity_id], this)
    reason = reason.strip() or "Revoked by its holder."
    label, now = actor_label(actor), timezone.now()
    revoked = _take(lambda walk: (this, left_open_by_exchanges(walk, token.pk)), label=label, reason=reason, now=now)
    if revoked.tokens or revoked.tasks_ended:
        # Tokens are named by jti in the audit log (as token.issue does): it outlives the ledger row.
        audit_record(
            actor=actor, action="token.revoke", object_type="tokens.issuedtoken", object_id=token.jti,
            object_repr=f"token {token.jti[:8]}…", identity=token.identity_id,
            after={"revoked": revoked.tokens, **({"tasks_ended": revoked.tasks_ended} if revoked.tasks_ended else {})}, reason=reason,
        )
    return revoked


@transaction.atomic
def task_end(*, task: Task, actor, reason: str = "") -> int:
    """End a task (the agent, or an owner in the portal): revoke its tokens and its sub-tasks'
    (a delegate's too, whose agents are held so none joins one meanwhile). The one event counts
    the tokens and the sub-tasks that ended with it, as the confirmation page does."""
    lock_for_revoking([task.identity_id], tasks=[task.pk])
    task = Task.objects.get(pk=task.pk)
    if task.ended_at is not None:
        return 0
    reason = reason.strip() or "Task ended."
    now = timezone.now()
    revoked = end_tasks([task.pk], label=actor_label(actor), reason=reason, now=now)
    subtasks = revoked.tasks_ended - 1  # the task itself is the event's object
    audit_record(
        actor=actor, action="task.end", obj=task, object_repr=f"task {task.pk}",
        after={"ended_at": now, "tokens_revoked": revoked.tokens, **({"subtasks_ended": subtasks} if subtasks else {})},
        reason=reason,
    )
    return revoked.tokens


def revoke_not_covered_by_grants(*, identity_id, service, label: str, reason: str, now=None) -> Revoked:
    """After a grant ends: revoke the live tokens on the service whose scopes the remaining
    grants no longer cover, with what came from them. The tasks they served go on: the agent
    gets no token there without a grant; the sub-tasks opened by exchanging them end."""
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
    # Counted with the sub-tasks under them, a delegate's too, which end with them.
    # The transition holds the identity's row; the agents of those sub-tasks are held too, so
    # none joins one after its tokens are revoked. The transition locked them all first, in one
    # order (inventory/token_selectors.lock_for_deactivating; a bulk suspension, with the whole
    # batch): locked again here at no cost.
    open_tasks = list(Task.objects.filter(identity=identity, ended_at__isnull=True).values_list("pk", flat=True))
    lock_for_revoking([identity.pk], live_tokens(IssuedToken.objects.filter(identity=identity), now), tasks=open_tasks)
    ended, taken = end_tasks(open_tasks, label=label, reason=why, now=now), {}
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
    ended += revoke_matching(IssuedToken.objects.filter(identity=identity), label=label, reason=why, now=now)
    taken.update(ended.counts())
    return {name: count for name, count in taken.items() if count}
