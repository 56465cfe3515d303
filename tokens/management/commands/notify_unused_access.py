"""`manage.py notify_unused_access`: tell owners which of their agents' grants go unused."""

from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.usage import unused_access_notify


class Command(BaseCommand):
    help = "Email the active owners of identities whose live grants hold scopes no token carried in NHI_UNUSED_ACCESS_DAYS (each grant once). Run daily."

    def handle(self, *args, **options):
        sent = unused_access_notify(actor=system_actor("notify_unused_access"))
        self.stdout.write(f"Told {sent['people']} owner(s) about {sent['grants']} unused grant(s).")
