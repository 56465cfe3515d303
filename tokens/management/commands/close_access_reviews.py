from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.access_reviews import access_reviews_close_due


class Command(BaseCommand):
    help = "Close the access reviews whose date to decide by has passed (revoking what nobody kept, where the review says so)."

    def handle(self, *args, **options):
        closed = access_reviews_close_due(actor=system_actor("close_access_reviews"))
        self.stdout.write(f"Closed {closed} access review{'s' if closed != 1 else ''} past their date.")
