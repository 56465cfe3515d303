from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.access_review_notices import access_reviews_notify


class Command(BaseCommand):
    help = "Tell the people who decide each new access review, and remind them before its date (each once)."

    def handle(self, *args, **options):
        told = access_reviews_notify(actor=system_actor("notify_access_reviews"))
        self.stdout.write(
            f"Announced {told['reviews']} access review(s) to {told['people']} people; "
            f"reminded {told['reminded_people']} people of {told['reminded']}."
        )
