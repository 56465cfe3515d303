"""Identities nothing uses: active all through the unused-access window, yet no token in it.

An agent retired without offboarding keeps its owners, its keys and its grants: a way in that
nobody watches and nobody would miss (OWASP NHI1, improper offboarding). The token ledger says
which identities still work: every token names its identity. The window is the one unused
access uses (NHI_UNUSED_ACCESS_DAYS), which the ledger's retention bounds (tokens.E001).

Read live, unlike grant usage: one probe of token_identity_idx per active identity, quick
enough for a page (about 80 ms over 50,000 identities on SQLite), so the list is never an hour
behind the agent that just came back.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from inventory.models import AIIdentity, Status
from inventory.services import identity_suspend

from .models import IssuedToken
from .owner_notices import OwnerNotice, digest
from .usage import window_days


def _since(now):
    return now - timedelta(days=window_days())


def _token_since(since):
    return Exists(IssuedToken.objects.filter(identity=OuterRef("pk"), issued_at__gte=since))


def unused_identities(identities: QuerySet, *, now=None) -> QuerySet:
    """Narrow identities to those active for the whole window that obtained no token in it."""
    since = _since(now or timezone.now())
    return identities.filter(status=Status.ACTIVE, status_changed_at__lte=since).exclude(_token_since(since))


def with_last_token(identities: QuerySet) -> QuerySet:
    """Annotate last_token_at: the identity's latest token the ledger still keeps (None if none)."""
    latest = IssuedToken.objects.filter(identity=OuterRef("pk")).order_by("-issued_at").values("issued_at")[:1]
    return identities.annotate(last_token_at=Subquery(latest))


def is_unused(identity: AIIdentity, *, now=None) -> bool:
    return unused_identities(AIIdentity.objects.filter(pk=identity.pk), now=now).exists()


@transaction.atomic
def unused_identities_suspend(*, actor, identities, reason: str) -> dict:
    """Suspend each identity that is still unused now, all or none, one audit event each
    (identity_suspend's, which revokes what it holds). One that obtained a token since the list
    was read, or is no longer active, is left as it is and counted."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why these identities are suspended."})
    done = {"suspended": 0, "in use again": 0}
    for identity in identities:
        # Under the identity's lock, so no token slips between the check and the suspension.
        locked = AIIdentity.objects.select_for_update().get(pk=identity.pk)
        if not is_unused(locked):
            done["in use again"] += 1
            continue
        # Housekeeping, not an investigation: an owner reactivates what is still needed.
        identity_suspend(actor=actor, identity=locked, reason=reason, hold=False)
        done["suspended"] += 1
    return done


NOTICE = OwnerNotice(
    model=AIIdentity, told_field="unused_told_at", action="identities.notify_unused",
    object_type="inventory.aiidentity", object_id="unused", object_repr="unused identity notices", noun="identities",
)


def unused_identities_notify(*, actor, now=None) -> dict:
    """Tell the active owners of each unused identity, once per spell of disuse, with a link to
    offboard it (manage.py notify_unused_identities, daily). Told again only after it was
    reactivated or obtained a token since the last notice, and went unused anew; nothing has
    to clear the mark, so the token endpoint writes nothing for it."""
    now = now or timezone.now()
    used_since_told = Exists(IssuedToken.objects.filter(identity=OuterRef("pk"), issued_at__gt=OuterRef("unused_told_at")))
    due = unused_identities(AIIdentity.objects.all(), now=now).filter(
        Q(unused_told_at__isnull=True) | Q(unused_told_at__lt=F("status_changed_at")) | used_since_told
    ).order_by("status_changed_at", "name")
    days = window_days()

    def intro(identities):
        many = len(identities) != 1
        return (
            f"{len(identities)} agent{'s' if many else ''} you own {'have' if many else 'has'} obtained no token in the last "
            f"{days} days. If {'they are' if many else 'it is'} no longer used, offboard {'them' if many else 'it'}: "
            "its keys and grants are still a way in."
        )

    body = digest(intro, lambda i: (f"{i.name}: active since {i.status_changed_at:%Y-%m-%d}", "offboard it", f"/identities/{i.pk}/offboard/"))
    return NOTICE.run(
        actor=actor, now=now, due=due, body=body,
        subject=lambda mine: f"[NHI Portal] {len(mine)} of your agents {'go' if len(mine) != 1 else 'goes'} unused",
    )
