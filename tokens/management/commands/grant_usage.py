from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.usage import grant_usage_refresh, window_days


class Command(BaseCommand):
    help = "Read each live grant's last use off the token ledger and store the scopes no token carried in NHI_UNUSED_ACCESS_DAYS."

    def handle(self, *args, **options):
        counts = grant_usage_refresh(actor=system_actor("grant_usage"))
        self.stdout.write(
            f"Checked {counts['live']} live grants: {counts['with_unused_scopes']} hold a scope unused for "
            f"{window_days()} days ({counts['changed']} changed since the last run)."
        )
