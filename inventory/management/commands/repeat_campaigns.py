"""`manage.py repeat_campaigns`: launch the next round of each repeating attestation campaign that is due."""

from django.core.management.base import BaseCommand

from inventory.campaigns import campaigns_repeat


class Command(BaseCommand):
    help = "Close each repeating campaign whose period has passed and launch the next on the same scope (run daily)."

    def handle(self, *args, **options):
        done = campaigns_repeat()
        said = f"Launched {done['launched']} repeating campaign(s)."
        if done["empty"]:
            said += f" {done['empty']} found no identity in scope; tried again tomorrow."
        self.stdout.write(said)
