"""`manage.py notify_claims`: email reviewers and security admins about ownership claims waiting for them."""

from django.core.management.base import BaseCommand

from inventory.claims import claims_notify
from nhiportal.audit.services import system_actor


class Command(BaseCommand):
    help = "Email each reviewer and security admin a digest of the ownership claims newly waiting (each claim once; never its claimant). Run from cron."

    def handle(self, *args, **options):
        sent = claims_notify(actor=system_actor("notify_claims"))
        self.stdout.write(f"Announced {sent['claims']} claim(s) to {sent['people']} person(s).")
