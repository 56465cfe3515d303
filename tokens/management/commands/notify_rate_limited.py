"""`manage.py notify_rate_limited`: tell owners when their identity reached its token rate limit."""

from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.rate_limit_notices import rate_limited_notify


class Command(BaseCommand):
    help = "Email the active owners of identities refused for their token rate limit in the last day (each identity at most daily)."

    def handle(self, *args, **options):
        sent = rate_limited_notify(actor=system_actor("notify_rate_limited"))
        self.stdout.write(f"Told {sent['people']} owner(s) about {sent['identities']} identit{'y' if sent['identities'] == 1 else 'ies'} that reached their rate limit.")
