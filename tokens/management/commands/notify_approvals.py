"""`manage.py notify_approvals`: email reviewers and security admins about agent tasks waiting for them."""

from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.approvals import approvals_notify
from tokens.selectors import approvals_to_announce


class Command(BaseCommand):
    help = "Email each reviewer and security admin a digest of the agent tasks newly waiting for their approval (each task once)."

    def handle(self, *args, **options):
        sent = approvals_notify(actor=system_actor("notify_approvals"), tasks=approvals_to_announce())
        self.stdout.write(f"Announced {sent['tasks']} waiting task(s) to {sent['people']} person(s).")
