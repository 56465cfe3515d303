from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.posture import identities_score


class Command(BaseCommand):
    help = "Score every identity's risk from what is wrong with it now, for the inventory's sort and filter."

    def handle(self, *args, **options):
        counts = identities_score(actor=system_actor("score_identities"))
        self.stdout.write(
            f"Scored identities: {counts['high']} high, {counts['medium']} medium, {counts['low']} low risk "
            f"({counts['changed']} changed since the last run)."
        )
