"""`manage.py notify_credential_rotation`: tell owners which of their agents' keys are due for rotation."""

from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.rotation import credential_rotation_notify


class Command(BaseCommand):
    help = "Email the active owners of identities whose public keys are older than NHI_CREDENTIAL_MAX_AGE_DAYS (each key once). Run daily."

    def handle(self, *args, **options):
        sent = credential_rotation_notify(actor=system_actor("notify_credential_rotation"))
        self.stdout.write(f"Told {sent['people']} owner(s) about {sent['credentials']} key(s) due for rotation.")
