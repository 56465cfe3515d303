"""What ending some access would take with it, counted before anyone confirms.

The confirmation pages of the identity page's one-way actions (disable a credential, end a
task, revoke a token, end a delegation) and of closing an access review show these figures.
Each follows the write it previews (tokens/credentials.credential_disable, tokens/revocation,
tokens/delegations.delegation_revoke, tokens/access_reviews._close), so the count the page
promises is the count the success message then reports. Reads only.
"""

from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import IssuedToken, ReviewDecision, Task, WorkloadCredential
from .revocation import live_tokens


def tokens_reached(queryset: QuerySet, now=None) -> int:
    """How many tokens revocation.revoke_matching would revoke: the live ones of queryset, then
    each generation exchanged from those not yet counted, one query a generation (exchanges nest
    a few deep). By id: one identity's live tokens are bounded by their lifetime."""
    now = now or timezone.now()
    reached = set(live_tokens(queryset, now).values_list("pk", flat=True))
    frontier = reached
    while frontier:
        frontier = set(IssuedToken.objects.filter(revoked_at__isnull=True, parent_id__in=frontier).values_list("pk", flat=True)) - reached
        reached |= frontier
    return len(reached)


def _task_tree(task_pk) -> list:
    found, frontier = [task_pk], [task_pk]
    while frontier:
        frontier = list(Task.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        found.extend(frontier)
    return found


def revoking(queryset: QuerySet, now=None) -> dict:
    """What revocation.revoke_matching would take: the live tokens of queryset and those
    exchanged from them; the open sub-tasks that exchanges of any of those opened (at any
    depth), which end; and the live tokens in those sub-tasks."""
    now = now or timezone.now()
    reached = set(live_tokens(queryset, now).values_list("pk", flat=True))
    frontier = reached
    while frontier:
        frontier = set(IssuedToken.objects.filter(revoked_at__isnull=True, parent_id__in=frontier).values_list("pk", flat=True)) - reached
        reached |= frontier
    opened = IssuedToken.objects.filter(parent_id__in=reached).values_list("task_id", flat=True)
    subtasks = Task.objects.filter(pk__in=set(opened), ended_at__isnull=True).values_list("pk", flat=True)
    tree = [pk for subtask in subtasks for pk in _task_tree(subtask)]
    return {
        "subtasks": Task.objects.filter(pk__in=tree, ended_at__isnull=True).count(),
        "tokens": tokens_reached(IssuedToken.objects.filter(Q(pk__in=reached) | Q(task_id__in=tree)), now),
    }


def credential_disabling(credential: WorkloadCredential) -> dict:
    """The tokens obtained with it that go (with the sub-tasks opened by exchanging them, which
    end), and how many other enabled credentials the identity keeps: none means the agent can
    no longer authenticate, so it gets no token at all.
    (Distrusting a trust domain or an issuer disables its credentials: enabled is usable.)"""
    others = WorkloadCredential.objects.filter(identity_id=credential.identity_id, enabled=True).exclude(pk=credential.pk).count()
    return {
        **revoking(IssuedToken.objects.filter(credential=credential)),
        "others_enabled": others,
        "last": others == 0,
    }


def task_ending(task: Task) -> dict:
    """Its open sub-tasks (at any depth, a delegate's too) that end with it, and the live tokens
    of the whole tree, with those exchanged from them."""
    tree = _task_tree(task.pk)
    open_subtasks = Task.objects.filter(pk__in=tree[1:], ended_at__isnull=True)
    return {
        "subtasks": open_subtasks.count(),
        "delegated": open_subtasks.exclude(identity_id=task.identity_id).count(),
        "tokens": tokens_reached(IssuedToken.objects.filter(task_id__in=tree)),
    }


def token_revoking(token: IssuedToken) -> dict:
    """What goes with it: the open sub-tasks its exchanges opened (at any depth), which end, and
    the other live tokens, exchanged from it or in those sub-tasks. Its own task goes on."""
    exchanged_tasks, frontier = set(), [token.pk]
    while frontier:
        rows = list(IssuedToken.objects.filter(parent_id__in=frontier).values_list("pk", "task_id"))
        exchanged_tasks.update(task for _, task in rows)
        frontier = [pk for pk, _ in rows]
    subtasks = list(Task.objects.filter(pk__in=exchanged_tasks, ended_at__isnull=True).values_list("pk", flat=True))
    tree = [pk for subtask in subtasks for pk in _task_tree(subtask)]
    return {
        "subtasks": Task.objects.filter(pk__in=tree, ended_at__isnull=True).count(),
        "others": max(tokens_reached(IssuedToken.objects.filter(Q(pk=token.pk) | Q(task_id__in=tree))) - 1, 0),
    }


def delegation_ending(delegation) -> dict:
    """The delegate's open sub-tasks under the principal's tasks, which end, and the live tokens
    in them or exchanged from the principal's tokens by the delegate, with their own exchanges."""
    subtasks = list(
        Task.objects.filter(
            identity_id=delegation.delegate_id, parent__identity_id=delegation.principal_id, ended_at__isnull=True,
        ).values_list("pk", flat=True)
    )
    tree = [pk for subtask in subtasks for pk in _task_tree(subtask)]
    tokens = IssuedToken.objects.filter(
        Q(task_id__in=tree) | Q(identity_id=delegation.delegate_id, parent__identity_id=delegation.principal_id)
    )
    return {"subtasks": len(subtasks), "tokens": tokens_reached(tokens)}


def review_closing(review) -> dict:
    """The whole round's decisions so far, and what closing does to the grants nobody decided:
    if the round revokes what nobody kept, those still live are revoked (with the live tokens
    that relied on them); the others are marked revoked only. Otherwise all stay as they are,
    on record as not reviewed."""
    now = timezone.now()
    items = review.items.all()
    waiting = items.filter(decision="")
    return {
        "total": items.count(),
        "kept": items.filter(decision=ReviewDecision.KEEP).count(),
        "revoked": items.filter(decision=ReviewDecision.REVOKE).count(),
        "waiting": waiting.count(),
        "waiting_live": waiting.filter(grant__revoked_at__isnull=True, grant__ends_at__gt=now).count(),
    }
