"""`manage.py governance_sweep [--loop SECONDS] [--step NAME ...]`: every background job, when due.

One line in cron (`*/5 * * * * manage.py governance_sweep`) or one systemd service with
--loop runs them all. Each step runs when due and is claimed first, so several sweepers
(hosts, or a cron line beside a loop) never run one twice at once.
"""

import logging
import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections, connection

from nhiportal.sweep.services import sweep_run
from nhiportal.sweep.steps import BY_NAME

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Run the due background steps: access request expiry and notices, orphan and attestation "
        "suspensions, ledger and decision pruning, key rotation, the compliance snapshot. "
        "Idempotent; several may run at once. --loop repeats it (development, or a systemd service)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", type=float, metavar="SECONDS", help="Sweep again every SECONDS until stopped.")
        parser.add_argument("--step", action="append", choices=sorted(BY_NAME), help="Only this step (repeatable).")

    def handle(self, *args, loop=None, step=None, **options):
        if loop is not None and loop < 1:
            raise CommandError("--loop is a number of seconds, at least 1.")
        if loop is None:
            failed = self._sweep(step)
            if failed:
                raise CommandError(f"{len(failed)} step(s) failed: {', '.join(failed)}. They run again on the next sweep.")
            return
        # A service manager stops the loop with SIGTERM: the step under way finishes first.
        stopping = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        try:
            while not stopping.is_set():
                try:
                    self._sweep(step)
                except DatabaseError as error:
                    # The database restarted or stayed locked past the busy timeout: this sweep is
                    # lost, the loop is not; a step left claimed is free again when its lease ends.
                    logger.exception("governance sweep interrupted")
                    self.stderr.write(f"sweep interrupted by the database ({error}); trying again in {loop:g} s")
                    if not connection.in_atomic_block:
                        connection.close()
                if not connection.in_atomic_block:  # between sweeps, as between requests; never mid-transaction
                    close_old_connections()
                stopping.wait(loop)
        except KeyboardInterrupt:
            pass  # Ctrl-C: the interrupted step was handed back (nhiportal/sweep/services.py)
        finally:
            signal.signal(signal.SIGTERM, previous)

    def _sweep(self, only) -> list[str]:
        failed = []
        for run in sweep_run(only=only):
            if not run.ran:
                continue
            last_line = run.output.splitlines()[-1] if run.output else ""
            if run.succeeded:
                self.stdout.write(f"{run.step}: {last_line or 'done'}")
            else:
                failed.append(run.step)
                self.stderr.write(f"{run.step}: FAILED {last_line}")
        return failed
