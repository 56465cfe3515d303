"""What ending some access would take with it, counted before anyone confirms.

The confirmation pages of the identity page's one-way actions (disable a credential, end a
task, revoke a token, end a delegation) and of closing an access review show these figures.
Each follows the write it previews (tokens/credentials.credential_disable, tokens/revocation,
tokens/delegations.delegation_revoke, tokens/access_reviews._close), so the count the page
promises is the count the success message then reports: what ends with tokens and tasks is
counted over the very sets the revocation updates (revocation.taking). Reads only.
"""

from django.db.models import QuerySet
from django.utils import timezone

from .exchange_chains import Walk, rows
from .models import IssuedToken, ReviewDecision, Task, WorkloadCredential
from .revocation import left_open_by_exchanges, taking, task_tree


def revoking(queryset: QuerySet, now=None) -> dict:
    """What revocation.revoke_matching would take: the live tokens of queryset and those
    exchanged from them; the open sub-tasks that exchanges of any of those opened (at any
    depth), which end; and the live tokens in those sub-tasks."""
    walk = Walk()
    _, ended, reached = taking(walk, queryset, now=now or timezone.now())
    subtasks, tokens = walk.counts(Task.objects.filter(pk__in=rows(ended)), IssuedToken.objects.filter(pk__in=rows(reached)))
    return {"subtasks": subtasks, "tokens": tokens}


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
    of the whole tree, with those exchanged from them (revocation.task_end)."""
    walk = Walk()
    tree = task_tree(walk, [task.pk])
    _, ended, reached = taking(walk, IssuedToken.objects.filter(task_id__in=rows(tree)), ending=tree, now=timezone.now())
    subtasks = Task.objects.filter(pk__in=rows(ended)).exclude(pk=task.pk)
    counted = walk.counts(subtasks, subtasks.exclude(identity_id=task.identity_id), IssuedToken.objects.filter(pk__in=rows(reached)))
    return dict(zip(("subtasks", "delegated", "tokens"), counted))


def token_revoking(token: IssuedToken) -> dict:
    """What goes with it (revocation.token_revoke): the open sub-tasks its exchanges opened (at
    any depth, those of exchanges already given back too), which end, and the other live
    tokens, exchanged from it or in those sub-tasks. Its own task goes on."""
    walk = Walk()
    ending = left_open_by_exchanges(walk, token.pk)
    _, ended, reached = taking(walk, IssuedToken.objects.filter(pk=token.pk), ending=ending, now=timezone.now())
    subtasks, others = walk.counts(
        Task.objects.filter(pk__in=rows(ended)), IssuedToken.objects.filter(pk__in=rows(reached)).exclude(pk=token.pk),
    )
    return {"subtasks": subtasks, "others": others}


def delegation_ending(delegation) -> dict:
    """What delegations.delegation_revoke takes: the delegate's open sub-tasks under the
    principal's tasks and every open task under them (a delegate's own delegate's too), which
    end, and the live tokens in them or exchanged from the principal's tokens by the delegate,
    with their own exchanges."""
    walk = Walk()
    tree = task_tree(walk, Task.objects.filter(
        identity_id=delegation.delegate_id, parent__identity_id=delegation.principal_id, ended_at__isnull=True,
    ))
    in_tree = walk.set("in_tree", IssuedToken.objects.filter(task_id__in=rows(tree)))
    exchanged = walk.set("exchanged", IssuedToken.objects.filter(
        identity_id=delegation.delegate_id, parent__identity_id=delegation.principal_id,
    ))
    tokens = IssuedToken.objects.filter(pk__in=rows(walk.either("delegated", in_tree, exchanged)))
    _, ended, reached = taking(walk, tokens, ending=tree, now=timezone.now())
    subtasks, tokens = walk.counts(Task.objects.filter(pk__in=rows(ended)), IssuedToken.objects.filter(pk__in=rows(reached)))
    return {"subtasks": subtasks, "tokens": tokens}


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
