"""Mail to the owners of identities that reached their token rate limit, at most once a day each.

Security teams hear of it at once (the identity.rate_limited event, through webhooks); the
owners, who know whether the agent should be asking that often, hear of it on the next sweep.
"""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from .models import TokenPace
from .owner_notices import OwnerNotice, digest
from .rate_limit import per_minute

TELL_EVERY = timedelta(days=1)

NOTICE = OwnerNotice(
    model=TokenPace, told_field="told_at", action="identities.notify_rate_limited",
    object_type="tokens.tokenpace", object_id="rate-limited", object_repr="rate limit notices", noun="identities",
)


def rate_limited_notify(*, actor, now=None) -> dict:
    """Mail each owner the identities of theirs refused for their rate limit in the last day,
    unless they were told about that identity within the day."""
    now = now or timezone.now()
    due = (
        TokenPace.objects.filter(slowed_at__gte=now - TELL_EVERY)
        .filter(Q(told_at__isnull=True) | Q(told_at__lt=now - TELL_EVERY))
        .select_related("identity").order_by("pk")
    )
    body = digest(
        lambda paces: (
            f"{'These identities' if len(paces) != 1 else 'An identity'} you own asked for tokens faster than "
            "its rate limit, and the portal refused the excess (429 slow_down). If that was expected, ask a "
            "security admin for a higher limit. If not, the agent may be stuck in a loop, or its key may be in "
            "someone else's hands: look at its activity, and report the key leaked on its page if it is."
        ),
        lambda p: (
            # Its limit as it stands now: a security admin may have raised it since the refusal.
            f"{p.identity.name}: last refused {p.slowed_at:%Y-%m-%d %H:%M} UTC; its limit is now {per_minute(p.identity.token_rate_limit)}",
            "Its activity and decisions", f"/identities/{p.identity_id}/",
        ),
    )
    return NOTICE.run(
        actor=actor, now=now, due=due, body=body,
        subject=lambda mine: f"[NHI Portal] {len(mine)} agent{'s' if len(mine) != 1 else ''} you own reached {'their' if len(mine) != 1 else 'its'} token rate limit",
    )
