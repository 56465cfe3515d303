"""`manage.py notify_unused_identities`: tell owners which of their agents obtained no token lately."""

from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.unused_identities import unused_identities_notify


class Command(BaseCommand):
    help = (
        "Email the active owners of identities active for NHI_UNUSED_ACCESS_DAYS that obtained no token in them "
        "(each identity once until it is used again). Run daily."
    )

    def handle(self, *args, **options):
        sent = unused_identities_notify(actor=system_actor("notify_unused_identities"))
        self.stdout.write(f"Told {sent['people']} owner(s) about {sent['identities']} unused identit(ies).")
