"""`manage.py prune_decisions`: delete policy decisions older than the retention period."""

from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.policy.services import decisions_prune


class Command(BaseCommand):
    help = 'Delete policy decisions older than settings.NHI["DECISION_RETENTION_DAYS"] (or --days).'

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="Keep this many days instead of the setting.")

    def handle(self, *args, days=None, **options):
        deleted = decisions_prune(actor=system_actor("prune_decisions"), older_than_days=days)
        self.stdout.write(f"Deleted {deleted} policy decision(s).")
