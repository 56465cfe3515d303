"""What an identity did lately, day by day: tokens issued and requests refused.

For the identity page's activity chart, where a loop, a new deployment or a string of
refusals shows at a glance. Each day is counted on its own, from the ledger and the decision
log, and each count stops at `cap`: an agent issuing a million tokens a day costs a bounded
scan of the indexes (identity, time), never a count of the million.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone as dt_timezone

from django.utils import timezone

from .models import IssuedToken
from .policy.models import Decision, PolicyDecision

DAYS = 14
CAP = 10_000


@dataclass(frozen=True)
class Day:
    date: object  # datetime.date, UTC
    issued: int
    refused: int
    capped: bool  # a count stopped at the cap: the day had at least that many


def _count(queryset, cap: int) -> tuple[int, bool]:
    n = queryset.values("pk")[: cap + 1].count()
    return min(n, cap), n > cap


def daily_activity(identity, *, now=None, days: int = DAYS, cap: int = CAP) -> list[Day]:
    """The last `days` days (UTC), oldest first, today included."""
    today = (now or timezone.now()).astimezone(dt_timezone.utc).date()
    tokens = IssuedToken.objects.filter(identity_id=identity.pk)
    refusals = PolicyDecision.objects.filter(identity_id=identity.pk, enforced=Decision.DENY)
    activity = []
    for back in range(days - 1, -1, -1):
        date = today - timedelta(days=back)
        start = datetime.combine(date, time.min, tzinfo=dt_timezone.utc)
        end = start + timedelta(days=1)
        issued, capped_issued = _count(tokens.filter(issued_at__gte=start, issued_at__lt=end), cap)
        refused, capped_refused = _count(refusals.filter(at__gte=start, at__lt=end), cap)
        activity.append(Day(date, issued, refused, capped_issued or capped_refused))
    return activity
