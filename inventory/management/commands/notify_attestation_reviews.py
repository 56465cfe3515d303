"""`manage.py notify_attestation_reviews`: tell owners when a reviewer rejected their identity's attestation."""

from django.core.management.base import BaseCommand

from inventory.attestation_reviews import rejections_notify
from nhiportal.audit.services import system_actor


class Command(BaseCommand):
    help = "Email the active owners of each identity whose attestation a reviewer rejected, with the reason (once per rejection). Run from cron."

    def handle(self, *args, **options):
        sent = rejections_notify(actor=system_actor("notify_attestation_reviews"))
        self.stdout.write(f"Told {sent['people']} owner(s) of {sent['attestations']} rejected attestation(s).")
