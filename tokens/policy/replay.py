"""Replay: what a version would have decided about the requests the portal recently decided.

Each PolicyDecision keeps the Cedar request it evaluated (facts, context, time), so a draft
can be judged against exactly those requests before it is activated. Refusals the portal
made before policy carry no Cedar request and are skipped.
"""

from dataclasses import dataclass, field

from .cedar_request import FactsError, is_stored_request, request_from_facts
from .compiled import DENY, CompiledPolicy
from .models import PolicyDecision

REPLAY_DEFAULT = 200
REPLAY_MAX = 5000


@dataclass(frozen=True)
class ReplayChange:
    decision: PolicyDecision  # the recorded decision
    now: str  # what the replayed version decides
    policy_ids: tuple[str, ...]
    errors: tuple[str, ...]


@dataclass
class ReplayReport:
    replayed: int = 0
    skipped: int = 0  # recorded refusals with no Cedar request
    denied: int = 0  # how many the version would deny
    changes: list[ReplayChange] = field(default_factory=list)

    @property
    def denies_everything(self) -> bool:
        return self.replayed > 0 and self.denied == self.replayed

    # What the counts say, so they add up: replayed = allowed + denied, and
    # replayed = unchanged + allowed_to_denied + denied_to_allowed.
    @property
    def allowed(self) -> int:
        return self.replayed - self.denied

    @property
    def allowed_to_denied(self) -> int:
        """Recorded as allowed, and this version would deny them."""
        return sum(change.now == DENY for change in self.changes)

    @property
    def denied_to_allowed(self) -> int:
        """Recorded as denied, and this version would allow them."""
        return len(self.changes) - self.allowed_to_denied

    @property
    def unchanged(self) -> int:
        """Decided as they were recorded, allowed or denied."""
        return self.replayed - len(self.changes)


def replay(compiled: CompiledPolicy, *, limit: int = REPLAY_DEFAULT) -> ReplayReport:
    """Judge the last `limit` recorded decisions with `compiled`; list those whose outcome changes."""
    limit = max(1, min(int(limit), REPLAY_MAX))
    report = ReplayReport()
    for row in PolicyDecision.objects.order_by("-at", "-id")[:limit]:
        try:
            if not is_stored_request(row.request):
                raise FactsError("not a Cedar request")
            request = request_from_facts(row.request)
        except FactsError:
            report.skipped += 1
            continue
        verdict = compiled.judge(request, strict=True)
        report.replayed += 1
        report.denied += verdict.decision == DENY
        if verdict.decision != row.decision:
            report.changes.append(ReplayChange(row, verdict.decision, verdict.policy_ids, verdict.errors))
    return report
