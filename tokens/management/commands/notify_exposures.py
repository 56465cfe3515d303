"""`manage.py notify_exposures`: email the owners of identities whose credentials were reported
leaked, and the holders of personal API tokens reported leaked."""

from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from nhiportal.people.services import exposed_tokens_notify
from tokens.exposures import exposures_notify
from tokens.selectors import exposures_to_announce


class Command(BaseCommand):
    help = "Email each reported exposure's identity owners (once per exposure) and record who was told; and each leaked API token's holder."

    def handle(self, *args, **options):
        sent = exposures_notify(actor=system_actor("notify_exposures"), exposures=exposures_to_announce())
        holders = exposed_tokens_notify(actor=system_actor("notify_exposures"))
        self.stdout.write(
            f"Told the owners of {sent['exposures']} exposure(s): {sent['emails']} email(s); "
            f"the holders of {holders['tokens']} leaked API token(s)."
        )
