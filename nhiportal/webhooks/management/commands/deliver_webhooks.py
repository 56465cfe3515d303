import time

from django.core.management.base import BaseCommand

from nhiportal.webhooks.delivery import deliver_all


class Command(BaseCommand):
    help = "Send audit events to the webhook endpoints that subscribed to them (idempotent; several may run)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", type=float, default=0, help="Run again every this many seconds (development).")

    def handle(self, *args, loop, **options):
        while True:
            summary = deliver_all()
            self.stdout.write(f"Sent {summary['sent']} event(s) to {summary['endpoints']} endpoint(s); {summary['failing']} failing.")
            if not loop:
                return
            time.sleep(loop)
