from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.ledger import ledger_prune


class Command(BaseCommand):
    help = "Delete issued-token rows expired for longer than NHI_TOKEN_RETENTION_DAYS, and spent client-assertion ids."

    def handle(self, *args, **options):
        counts = ledger_prune(actor=system_actor("prune_tokens"))
        self.stdout.write(
            f"Pruned {counts['tokens']} token rows, {counts['tasks']} ended tasks and "
            f"{counts['used_assertions']} used assertion ids."
        )
