from django.core.management.base import BaseCommand, CommandError

from nhiportal.audit.services import system_actor
from tokens.trust_bundles import trust_bundles_refresh


class Command(BaseCommand):
    help = "Fetch the bundle of each trust domain with a bundle endpoint once its refresh hint has passed; keep the keys it has when that fails."

    def handle(self, *args, **options):
        counts = trust_bundles_refresh(actor=system_actor("refresh_trust_bundles"))
        summary = f"Trust bundles: {counts['changed']} changed, {counts['unchanged']} unchanged, {counts['failed']} failed."
        if counts["failed"]:
            # The step shows as failed on the background work page (the trust domains page says
            # why); the keys already held stay in use, and the next sweep tries again.
            raise CommandError(summary)
        self.stdout.write(summary)
