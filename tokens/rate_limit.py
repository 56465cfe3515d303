"""How fast an identity may obtain tokens: at most its limit a minute, a burst of that many at once.

An agent stuck in a loop, or a copied key in someone else's script, can ask for thousands of
tokens a minute: each one a ledger row, a decision row and an audit event, and a token in
someone's hands. The limit stops that at the token endpoint with 429 `slow_down` and a
Retry-After, and the owner reads the refusal in the decision log.

The arithmetic is the generic cell rate algorithm (GCRA): one number per identity, the
moment its next token is due (`next_at`); each token moves it on by 60/limit seconds, and a
request is refused while it lies more than a minute's allowance ahead. It is kept in the
database, read with the identity's facts and written in the token's own transaction, under
the identity's lock: exact across workers and hosts, at the cost of one small write per token.
(Cache-based limiters count per process without Redis, and add a round trip with it.)
"""

import math
import time

from inventory.models import token_rate_limit

from .models import TokenPace

WINDOW = 60.0  # seconds: limits are per minute
SLOWED_DAYS = 7  # how long reaching the limit counts in an identity's risk and in NHIP-24


def limit_of(identity) -> int:
    """Tokens a minute this identity (its facts) may obtain; 0: no limit."""
    return token_rate_limit(identity.token_rate_per_minute)


def admit(limit: int, next_at: float | None, now: float) -> float | None:
    """The identity's next `next_at` if a token may be issued now; None when over its limit."""
    interval = WINDOW / limit
    due = now if next_at is None or next_at < now else next_at
    if due - now > WINDOW - interval:
        return None
    return due + interval


def per_minute(limit: int) -> str:
    """A limit as people read it: "1 token a minute", "1,200 tokens a minute"."""
    return f"{limit:,} token{'' if limit == 1 else 's'} a minute"


def wait(limit: int, next_at: float, now: float) -> float:
    """Seconds until a token would be admitted again."""
    return max(0.0, next_at - now - (WINDOW - WINDOW / limit))


def whole_seconds(seconds: float) -> int:
    """As Retry-After gives it: whole seconds, at least 1."""
    return max(1, math.ceil(seconds))


class Slowed:
    """What this process remembers of identities it refused: until when to refuse them again
    without opening a transaction (a flood costs a dictionary lookup a request, not a write),
    and when it last recorded a refusal (one decision row a minute per process, not one a
    request).

    A refusal is remembered for RECHECK_EVERY seconds at most, though its Retry-After may be a
    minute: a security admin who raises the limit (restart_pace) cannot reach the other
    processes' memory, so each looks at the database again that soon and the new limit holds."""

    RECORD_EVERY = WINDOW
    RECHECK_EVERY = 5.0

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._until: dict = {}
        self._recorded: dict = {}

    def refused_for(self, identity_id) -> int | None:
        """Seconds to tell the caller to wait, while this identity is still refused here."""
        remembered = self._until.get(identity_id)
        if remembered is None:
            return None
        until, recheck_at = remembered
        now = self.clock()
        if now >= min(until, recheck_at):
            del self._until[identity_id]
            return None
        return whole_seconds(until - now)

    def forget(self, identity_id) -> None:
        self._until.pop(identity_id, None)

    def refuse(self, identity_id, seconds: float) -> bool:
        """Remember the refusal; True when it is the one to record in the decision log."""
        now = self.clock()
        if len(self._until) > 10_000:
            self._until.clear()
            self._recorded.clear()
        self._until[identity_id] = (now + seconds, now + self.RECHECK_EVERY)
        last = self._recorded.get(identity_id)
        if last is not None and now - last < self.RECORD_EVERY:
            return False
        self._recorded[identity_id] = now
        return True


# This process's memory of refusals, for the token endpoint.
slowed = Slowed()


def restart_pace(identity_id) -> None:
    """A new limit starts from a full minute's allowance. The pace kept is the old limit's
    arithmetic: a limit raised from 1 to 600 a minute would otherwise still refuse the agent
    for the minute its last token moved the pace on by. Called in the change's transaction;
    this process forgets its refusals at once (if the change rolls back, the next request
    only reads the pace again), the others within RECHECK_EVERY."""
    TokenPace.objects.filter(identity_id=identity_id).update(next_at=0.0)
    slowed.forget(identity_id)
