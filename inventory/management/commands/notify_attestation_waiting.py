"""`manage.py notify_attestation_waiting`: tell reviewers and security admins of the attestations waiting for their review."""

from django.core.management.base import BaseCommand

from inventory.attestation_reviews import waiting_notify
from nhiportal.audit.services import system_actor


class Command(BaseCommand):
    help = (
        "Email each reviewer and security admin a digest of the attestations newly waiting for their review "
        "(each once; never their own or of an identity they own). Run daily."
    )

    def handle(self, *args, **options):
        sent = waiting_notify(actor=system_actor("notify_attestation_waiting"))
        self.stdout.write(f"Announced {sent['attestations']} attestation(s) to {sent['people']} person(s).")
