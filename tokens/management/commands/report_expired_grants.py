"""`manage.py report_expired_grants`: one grant.expired audit event per grant that ran out."""

from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.services import grants_expired_report


class Command(BaseCommand):
    help = (
        "Write one grant.expired audit event (pushed by webhooks) for each grant whose end date passed since the "
        "last run; each grant once. A step of the governance sweep, each sweep."
    )

    def handle(self, *args, **options):
        reported = grants_expired_report(actor=system_actor("report_expired_grants"))
        self.stdout.write(f"{reported} grant{'s' if reported != 1 else ''} ran out since the last run.")
