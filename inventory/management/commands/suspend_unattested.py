"""`manage.py suspend_unattested`: suspend active identities whose attestation is overdue past the grace period."""

from django.core.management.base import BaseCommand

from inventory.lapses import lapses_review
from nhiportal.audit.services import system_actor


class Command(BaseCommand):
    help = (
        "Suspend active identities whose attestation is overdue by more than NHI_ATTESTATION_GRACE_DAYS "
        "(revoking their tokens, ending their tasks) and mail their owners. Hourly, as a step of governance_sweep."
    )

    def handle(self, *args, **options):
        done = lapses_review(actor=system_actor("suspend_unattested"))
        self.stdout.write(f"{done['suspended']} suspended, {done['owners_told']} owner(s) told.")
