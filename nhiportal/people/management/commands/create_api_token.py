from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from nhiportal.audit.services import system_actor
from nhiportal.people.models import TokenPurpose
from nhiportal.people.services import MAX_TOKEN_DAYS, api_token_create


class Command(BaseCommand):
    help = "Create a personal API token for a person and print it once (only its hash is kept)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="What the token is for.")
        parser.add_argument("--days", type=int, default=90, help=f"Valid for 1 to {MAX_TOKEN_DAYS} days (default 90).")
        parser.add_argument(
            "--directory-sync", action="store_true",
            help="A token for the identity provider's SCIM provisioning (/scim/v2/), not the API; the person must be a security admin.",
        )

    def handle(self, *args, username, name, days, directory_sync, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active person named {username!r}.")
        try:
            token, raw = api_token_create(
                user=user, name=name, days=days, actor=system_actor("create_api_token"),
                purpose=TokenPurpose.DIRECTORY_SYNC if directory_sync else TokenPurpose.API,
                # Whoever runs manage.py already holds the server, its database and its keys.
                made_with_second_factor=True,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stderr.write(f"Token {token.name!r} for {username}, valid until {token.expires_at:%Y-%m-%d %H:%M} UTC.")
        self.stderr.write("Store it now: it is not shown again.")
        # The token alone on stdout, so a script can capture it: TOKEN=$(manage.py create_api_token ...)
        self.stdout.write(raw)
