from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from .models import SweepStep
from .steps import STEPS, Step

# A sweep is expected at least this often; a step not run for longer shows as overdue.
EXPECTED_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class StepStatus:
    step: Step
    record: SweepStep | None
    state: str  # never, running, ok, failed, overdue
    next_due: datetime | None

    @property
    def badge(self) -> tuple[str, str]:
        """(badge style, label) for the page."""
        return BADGES[self.state]


BADGES = {
    "ok": ("ok", "ok"), "running": ("live", "running"), "failed": ("fail", "failed"),
    "overdue": ("overdue", "overdue"), "never": ("pending", "never run"),
}


def _state(step: Step, record: SweepStep | None, now) -> tuple[str, datetime | None]:
    if record is None or record.finished_at is None:
        running = record is not None and record.claimed_until and record.claimed_until > now
        return ("running" if running else "never"), None
    if record.claimed_until and record.claimed_until > now:
        return "running", None
    if record.succeeded is False:
        return "failed", now
    next_due = (record.slot_at or record.last_success_at) + step.every
    late = now - max(next_due, record.finished_at) > EXPECTED_EVERY
    return ("overdue" if late else "ok"), next_due


def sweep_status(now=None) -> list[StepStatus]:
    """Every step in sweep order, with its last run and what to make of it."""
    now = now or timezone.now()
    records = {r.name: r for r in SweepStep.objects.all()}
    rows = []
    for step in STEPS:
        record = records.get(step.name)
        state, next_due = _state(step, record, now)
        rows.append(StepStatus(step, record, state, next_due))
    return rows


STALLED = ("failed", "overdue", "never")


def stalled_steps(now=None) -> list[StepStatus]:
    """The steps that need a look: failed, overdue, or never run."""
    return [row for row in sweep_status(now) if row.state in STALLED]
