"""`manage.py policy_seed`: on a fresh database, make the shipped default policy version 1, active."""

from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.policy.services import policy_seed


class Command(BaseCommand):
    help = "Save the shipped default policy set as version 1 and activate it (only when no version exists)."

    def handle(self, *args, **options):
        version = policy_seed(actor=system_actor("policy_seed"))
        if version is None:
            self.stdout.write("Policy versions exist already; nothing to seed.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Saved and activated policy version {version.number}."))
