"""`manage.py notify_grant_endings`: tell owners which of their identities' grants end soon."""

from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.grant_endings import grant_endings_notify


class Command(BaseCommand):
    help = "Email the active owners of identities whose live grants end within NHI_GRANT_ENDING_NOTICE_DAYS (each grant once). Run daily."

    def handle(self, *args, **options):
        sent = grant_endings_notify(actor=system_actor("notify_grant_endings"))
        self.stdout.write(f"Told {sent['people']} owner(s) about {sent['grants']} grant(s) ending soon.")
