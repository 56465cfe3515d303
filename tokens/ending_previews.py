"""What ending some access would take with it, counted before anyone confirms.

The confirmation pages of the identity page's one-way actions (disable a credential, end a
task, revoke a token, end a delegation) and of closing an access review show these figures.
Each follows the write it previews (tokens/credentials.credential_disable, tokens/revocation,
tokens/delegations.delegation_revoke, tokens/access_reviews._close), so the count the page
promises is the count the success message then reports. Reads only.
"""

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from .models import IssuedToken, ReviewDecision, Task, WorkloadCredential
from .revocation import live_tokens


_UNREVOKED, _OPEN = "child.revoked_at IS NULL", "child.ended_at IS NULL"


def _rows(name: str) -> RawSQL:
    """The ids of a set named in the same _Walk, for a query's `pk__in`."""
    return RawSQL(f"SELECT id FROM {name}", [])


class _Walk:
    """Named sets of rows, each an ORM query (which may name the sets before it) or that query
    and every row under it by parent, counted in one statement of common table expressions.
    Kept in SQL, never a list of ids: a busy credential's live tokens run to tens of thousands,
    more than PostgreSQL binds in one statement (65,535). Named, not nested: SQLite's parser
    refuses subqueries nested a few levels deeper than one walk needs."""

    def __init__(self):
        self.parts, self.params = [], []

    def _add(self, name: str, queryset: QuerySet, step: str | None = None) -> str:
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
        body = f"SELECT * FROM ({sql}) AS seed"
        if step is not None:
            # UNION reaches each row once; each row has one parent, so the walk ends.
            table = connection.ops.quote_name(queryset.model._meta.db_table)
            where = f" WHERE {step}" if step else ""
            body += f" UNION SELECT child.id FROM {table} AS child JOIN {name} ON child.parent_id = {name}.id{where}"
        self.parts.append(f"{name}(id) AS ({body})")
        self.params.extend(params)
        return name

    def set(self, name: str, queryset: QuerySet) -> str:
        return self._add(name, queryset)

    def down(self, name: str, seed: QuerySet, *, step: str = "") -> str:
        """seed and every row under it whose own columns meet `step` (SQL on `child`)."""
        return self._add(name, seed, step)

    def counts(self, *querysets: QuerySet) -> list[int]:
        selects, params = [], list(self.params)
        for queryset in querysets:
            sql, more = queryset.order_by().values("pk").query.sql_with_params()
            selects.append(f"(SELECT COUNT(*) FROM ({sql}) AS counted)")
            params.extend(more)
        with connection.cursor() as cursor:
            cursor.execute(f"WITH RECURSIVE {', '.join(self.parts)} SELECT {', '.join(selects)}", params)
            return list(cursor.fetchone())


def _taking(walk: _Walk, tokens: QuerySet, *, ending: str | None = None, now=None) -> tuple[str, str]:
    """Name in `walk` the tasks that end and the tokens revoked when the open tasks of `ending`
    (a set named in walk) end and revocation.revoke_matching takes `tokens`: the live ones with
    those exchanged from them; the open sub-tasks those exchanges opened, with the open ones
    under them (revocation._end_subtasks); and the live tokens of every task that ends, with
    those exchanged from them."""
    now = now or timezone.now()
    revoked = walk.down("revoked", live_tokens(tokens, now), step=_UNREVOKED)
    opened = IssuedToken.objects.filter(parent_id__in=_rows(revoked)).values("task_id")
    walk.down("opened", Task.objects.filter(ended_at__isnull=True, pk__in=opened), step=_OPEN)
    ends = Q(pk__in=_rows("opened")) | Q(pk__in=_rows(ending)) if ending else Q(pk__in=_rows("opened"))
    ended = walk.set("ended", Task.objects.filter(ends, ended_at__isnull=True))
    walk.down("in_ended", live_tokens(IssuedToken.objects.filter(task_id__in=_rows(ended)), now), step=_UNREVOKED)
    return ended, walk.set("reached", IssuedToken.objects.filter(Q(pk__in=_rows(revoked)) | Q(pk__in=_rows("in_ended"))))


def revoking(queryset: QuerySet, now=None) -> dict:
    """What revocation.revoke_matching would take: the live tokens of queryset and those
    exchanged from them; the open sub-tasks that exchanges of any of those opened (at any
    depth), which end; and the live tokens in those sub-tasks."""
    walk = _Walk()
    ended, reached = _taking(walk, queryset, now=now)
    subtasks, tokens = walk.counts(Task.objects.filter(pk__in=_rows(ended)), IssuedToken.objects.filter(pk__in=_rows(reached)))
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
    walk = _Walk()
    tree = walk.down("tree", Task.objects.filter(pk=task.pk))
    ended, reached = _taking(walk, IssuedToken.objects.filter(task_id__in=_rows(tree)), ending=tree)
    subtasks = Task.objects.filter(pk__in=_rows(ended)).exclude(pk=task.pk)
    counted = walk.counts(subtasks, subtasks.exclude(identity_id=task.identity_id), IssuedToken.objects.filter(pk__in=_rows(reached)))
    return dict(zip(("subtasks", "delegated", "tokens"), counted))


def token_revoking(token: IssuedToken) -> dict:
    """What goes with it (revocation.token_revoke): the open sub-tasks its exchanges opened (at
    any depth, those of exchanges already given back too), which end, and the other live
    tokens, exchanged from it or in those sub-tasks. Its own task goes on."""
    walk, this = _Walk(), IssuedToken.objects.filter(pk=token.pk)
    exchanged = walk.down("exchanged", this)
    opened = IssuedToken.objects.filter(pk__in=_rows(exchanged)).exclude(pk=token.pk).values("task_id")
    ending = walk.down("ending", Task.objects.filter(ended_at__isnull=True, pk__in=opened), step=_OPEN)
    ended, reached = _taking(walk, this, ending=ending)
    subtasks, others = walk.counts(
        Task.objects.filter(pk__in=_rows(ended)), IssuedToken.objects.filter(pk__in=_rows(reached)).exclude(pk=token.pk),
    )
    return {"subtasks": subtasks, "others": others}


def delegation_ending(delegation) -> dict:
    """What delegations.delegation_revoke takes: the delegate's open sub-tasks under the
    principal's tasks and every open task under them (a delegate's own delegate's too), which
    end, and the live tokens in them or exchanged from the principal's tokens by the delegate,
    with their own exchanges."""
    walk = _Walk()
    tree = walk.down("tree", Task.objects.filter(
        identity_id=delegation.delegate_id, parent__identity_id=delegation.principal_id, ended_at__isnull=True,
    ))
    exchanged = Q(identity_id=delegation.delegate_id, parent__identity_id=delegation.principal_id)
    ended, reached = _taking(walk, IssuedToken.objects.filter(Q(task_id__in=_rows(tree)) | exchanged), ending=tree)
    subtasks, tokens = walk.counts(Task.objects.filter(pk__in=_rows(ended)), IssuedToken.objects.filter(pk__in=_rows(reached)))
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
