"""One governance sweep: claim each due step, run it, record how it went.

A claim is one conditional UPDATE (the step is due and no live lease holds it), so the database
decides which of several concurrent sweepers runs a step. Leases are read against each host's
clock, as token lifetimes are: keep the hosts' clocks synchronised (NTP). A step that outlives
its lease may be taken over by another sweeper; every step is idempotent, and the steps here
take seconds. The step runs outside any transaction,
as its command does from cron; its own writes commit (and are audited) step by step.
"""

import logging
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.db.models import Q
from django.utils import timezone

from .models import SweepStep
from .steps import STEPS, Step

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=30)  # longer than any step runs; a dead sweeper's claim ends then
OUTPUT_LIMIT = 4000


@dataclass(frozen=True)
class StepRun:
    step: str
    ran: bool
    succeeded: bool | None = None
    output: str = ""


def _claim_mark() -> str:
    """Who claims, and which claim: host and process for people, a random part so a claim is
    told from any other by this mark alone."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _claim(step: Step, now, by: str) -> bool:
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    due = (
        Q(finished_at__isnull=True) | Q(succeeded=False) | Q(slot_at__lte=now - step.every)
        | Q(slot_at__isnull=True, last_success_at__lte=now - step.every)  # a record from before slots
    )
    return bool(
        SweepStep.objects.filter(free, due, name=step.name).update(
            claimed_until=now + LEASE, claimed_by=by, started_at=now
        )
    )


def _slot(step: Step, record: SweepStep, started):
    """The slot this run fills: one interval after the last, if it started within an interval
    of being due; else (the first run, or the sweep stopped for a while) the time it started."""
    last = record.slot_at or record.last_success_at
    if last is None or not step.every:
        return started
    due = last + step.every
    return due if started - due < step.every else started


def _run(step: Step) -> tuple[bool, str]:
    out = StringIO()
    try:
        call_command(step.name, *step.command_arguments(), stdout=out, stderr=out)
    except Exception as error:  # a step's failure is recorded and retried; the sweep goes on
        logger.exception("governance sweep: %s failed", step.name)
        return False, f"{out.getvalue()}{type(error).__name__}: {error}".strip()
    return True, out.getvalue().strip()


def sweep_run(*, only: list[str] | None = None) -> list[StepRun]:
    """Run every due step (or only the named ones) once, in order; skip those not due or held."""
    SweepStep.objects.bulk_create([SweepStep(name=s.name) for s in STEPS], ignore_conflicts=True)
    runs = []
    for step in STEPS:
        if only and step.name not in only:
            continue
        started, by = timezone.now(), _claim_mark()
        if not _claim(step, started, by):
            runs.append(StepRun(step.name, ran=False))
            continue
        # Only while the claim is still this one: one whose lease ran out and was taken over
        # must not overwrite the new holder's record.
        mine = SweepStep.objects.filter(name=step.name, claimed_by=by)
        slot = _slot(step, mine.get(), started)
        try:
            succeeded, output = _run(step)
        except BaseException:  # stopped (Ctrl-C): hand the step back now rather than when the lease ends
            mine.update(claimed_until=None)
            raise
        finished = timezone.now()
        mine.update(
            claimed_until=None, finished_at=finished, succeeded=succeeded, output=output[:OUTPUT_LIMIT],
            **({"last_success_at": started, "slot_at": slot} if succeeded else {}),
        )
        runs.append(StepRun(step.name, ran=True, succeeded=succeeded, output=output))
    return runs
