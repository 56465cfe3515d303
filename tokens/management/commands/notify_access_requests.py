"""`manage.py notify_access_requests`: email the people who decide access requests waiting for them."""

from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.access_requests import access_requests_lapse, access_requests_notify


class Command(BaseCommand):
    help = (
        "Cancel access requests whose end date passed undecided, then email the deciders of each waiting "
        "request's current stage a digest (each stage once; never the requester). Run from cron."
    )

    def handle(self, *args, **options):
        actor = system_actor("notify_access_requests")
        lapsed = access_requests_lapse(actor=actor)
        sent = access_requests_notify(actor=actor)
        self.stdout.write(f"Cancelled {lapsed} past its end date; announced {sent['requests']} access request(s) to {sent['people']} person(s).")
