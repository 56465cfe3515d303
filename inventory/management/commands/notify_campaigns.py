"""`manage.py notify_campaigns`: email owners what newly launched attestation campaigns ask of them."""

from django.core.management.base import BaseCommand

from inventory.campaigns import campaigns_notify
from nhiportal.audit.services import system_actor


class Command(BaseCommand):
    help = (
        "Email each active owner, once per newly launched campaign, the identities it asks them to attest, and once more "
        "3 days before the due date if some still wait (run daily from cron)."
    )

    def handle(self, *args, **options):
        sent = campaigns_notify(actor=system_actor("notify_campaigns"))
        self.stdout.write(
            f"Announced {sent['campaigns']} campaign(s) to {sent['people']} owner(s); "
            f"reminded {sent['reminded_people']} owner(s) of {sent['reminded']} campaign(s) due soon."
        )
