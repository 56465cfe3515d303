"""`manage.py notify_access_requests`: email the people who decide access requests waiting for them."""

from django.core.management.base import BaseCommand

from nhiportal.audit.services import system_actor
from tokens.access_requests import access_requests_notify


class Command(BaseCommand):
    help = "Email the deciders of each access request's current stage a digest (each stage once; never the requester). Run from cron."

    def handle(self, *args, **options):
        sent = access_requests_notify(actor=system_actor("notify_access_requests"))
        self.stdout.write(f"Announced {sent['requests']} access request(s) to {sent['people']} person(s).")
