"""Reads of the issued-token ledger across identities: the tokens list, its export and the API.

The ledger holds hundreds of thousands of rows, so every read here is shaped for its indexes:
newest first is by id (the primary key: rows are written at issuance, so id order is issue
order), live and expired ones by expires_at's index, one identity's by token_identity_idx,
revoked ones by token_revoked_idx.
"""

from django.db.models import QuerySet
from django.utils import timezone

from inventory import visibility
from inventory.models import AIIdentity

from .models import IssuedToken
from .revocation import live_tokens

TOKEN_STATES = ("live", "expired", "revoked", "all")


def in_state(tokens: QuerySet, state: str, now=None) -> QuerySet:
    """live (neither revoked nor expired), expired (ran out unrevoked), revoked; anything else: all."""
    now = now or timezone.now()
    if state == "live":
        return live_tokens(tokens, now)
    if state == "expired":
        return tokens.filter(revoked_at__isnull=True, expires_at__lte=now)
    if state == "revoked":
        return tokens.filter(revoked_at__isnull=False)
    return tokens


def issued_token_list(*, user, state: str = "all") -> QuerySet:
    """Ledger rows of the identities the user may see (the one gate), in a state of
    TOKEN_STATES, newest first, with what each row shows (a few queries a page, however many rows)."""
    # What each row shows comes in a query per relation for the page, not joined: a join lets
    # the planner start from the identities (SQLite does once ANALYZE finds few), then sort
    # the whole ledger.
    tokens = in_state(visibility.restrict_by_identity(IssuedToken.objects.all(), user), state).prefetch_related("identity", "task__service")
    return tokens.order_by(*NEWEST_FIRST.get(state, ("-id",)))


# Per tab, the order its index answers. Live ones are few, found by expires_at's index and
# sorted (by id, a tab with fewer live tokens than a page would walk the whole ledger for more);
# expired ones are read off that index backwards, the last to expire first.
NEWEST_FIRST = {"live": ("-issued_at", "-id"), "expired": ("-expires_at", "-id")}
ONE_IDENTITY = ("-issued_at",)  # token_identity_idx's own order


def revocable_ids(user, tokens) -> set:
    """Ids among `tokens` (a page of rows) that the user may revoke: live, of an identity they
    may change (its owners, security admins). One query for the page's identities."""
    now = timezone.now()
    live = [t for t in tokens if t.is_active(now)]
    ids = {t.identity_id for t in live}
    if not ids:
        return set()
    changeable = set(visibility.restrict(AIIdentity.objects.filter(pk__in=ids), user, visibility.CHANGE).values_list("pk", flat=True))
    return {t.pk for t in live if t.identity_id in changeable}
