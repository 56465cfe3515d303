"""`manage.py suspend_orphans`: suspend active identities left without an active owner past the grace period."""

from django.core.management.base import BaseCommand

from inventory.orphans import orphans_review
from nhiportal.audit.services import system_actor


class Command(BaseCommand):
    help = (
        "Note identities that lost their last active owner, and suspend active ones still orphaned after "
        "NHI_ORPHAN_GRACE_DAYS (revoking their tokens, ending their tasks). Hourly, as a step of governance_sweep."
    )

    def handle(self, *args, **options):
        done = orphans_review(actor=system_actor("suspend_orphans"))
        self.stdout.write(
            f"{done['newly_orphaned']} newly orphaned, {done['owned_again']} owned again, {done['suspended']} suspended."
        )
