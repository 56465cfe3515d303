"""`manage.py notify_trust_ended`: tell owners whose credentials were disabled when a platform stopped being trusted."""

from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.distrust import trust_ended_notify


class Command(BaseCommand):
    help = (
        "Email the active owners of identities whose credentials were disabled because a security admin stopped trusting "
        "their trust domain or federated issuer (each credential once). Run with the sweep."
    )

    def handle(self, *args, **options):
        sent = trust_ended_notify(actor=system_actor("notify_trust_ended"))
        self.stdout.write(f"Told {sent['people']} owner(s) about {sent['credentials']} credential(s) disabled with their platform.")
