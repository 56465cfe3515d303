"""`manage.py notify_new_owners`: tell people someone else made them an owner of an identity."""

from django.core.management.base import BaseCommand

from inventory.new_owners import new_owners_notify
from nhiportal.audit.services import system_actor


class Command(BaseCommand):
    help = (
        "Email each person made an owner (or the primary owner) of an identity by someone else a digest of those "
        "identities, once; never who made themselves owner. Run from cron."
    )

    def handle(self, *args, **options):
        sent = new_owners_notify(actor=system_actor("notify_new_owners"))
        self.stdout.write(f"Told {sent['people']} person(s) of {sent['ownerships']} new ownership(s).")
