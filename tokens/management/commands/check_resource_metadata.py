"""`manage.py check_resource_metadata`: compare each service's advertised scopes with those registered."""

from django.core.management.base import BaseCommand, CommandError

from nhiportal.audit.services import system_actor
from tokens.resource_metadata import services_check_metadata


class Command(BaseCommand):
    help = (
        "Fetch the protected resource metadata (RFC 9728) of each service registered with one and note scopes "
        "it advertises that are not registered, or registered ones it no longer advertises. Run daily."
    )

    def handle(self, *args, **options):
        counts = services_check_metadata(actor=system_actor("check_resource_metadata"))
        said = f"{counts['in step']} in step, {counts['drifted']} with scopes to look at, {counts['failed']} not fetched."
        if counts["failed"]:
            # Failing the step puts it on the background work page, where someone looks.
            raise CommandError(f"{said} See the services' pages for why.")
        self.stdout.write(said)
