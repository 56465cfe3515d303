"""`manage.py compliance_snapshot`: record every control's status now (run it daily from cron)."""

from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from nhiportal.compliance.services import compliance_snapshot_take


class Command(BaseCommand):
    help = "Record every compliance control's status now, for the history auditors read (run daily)."

    def handle(self, *args, **options):
        snapshot = compliance_snapshot_take(actor=system_actor("compliance_snapshot"))
        self.stdout.write(f"Snapshot {snapshot.pk}: {snapshot.passing()} of {len(snapshot.results)} controls pass.")
