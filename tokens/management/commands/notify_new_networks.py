"""`manage.py notify_new_networks`: tell owners when their identity got a token from a network it never used before."""

from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.source_networks import new_networks_notify


class Command(BaseCommand):
    help = "Email the active owners of identities that got a token from a network they never used before (each network once)."

    def handle(self, *args, **options):
        sent = new_networks_notify(actor=system_actor("notify_new_networks"))
        self.stdout.write(f"Told {sent['people']} owner(s) about {sent['networks']} new network(s).")
