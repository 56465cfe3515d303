"""`manage.py notify_refusals`: tell owners when the portal refused their identities tokens."""

from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.policy.refusal_notices import refusals_notify


class Command(BaseCommand):
    help = "Email the active owners of identities the portal refused tokens in the last day (each identity at most daily)."

    def handle(self, *args, **options):
        sent = refusals_notify(actor=system_actor("notify_refusals"))
        self.stdout.write(f"Told {sent['people']} owner(s) about {sent['identities']} identit{'y' if sent['identities'] == 1 else 'ies'} refused tokens.")
