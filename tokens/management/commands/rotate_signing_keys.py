from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from nhiportal.audit.services import system_actor
from tokens.keys import SIGNING_ALGORITHMS, rotated_message, signing_keys_retire_due, signing_keys_rotate
from tokens.models import KeyState, SigningKey


class Command(BaseCommand):
    help = (
        "Rotate the portal's token-signing keys: the next key signs, the active one retires once its tokens "
        "have expired, a new next key is published. With --if-older-than, only when the active key is that old "
        "(for cron); with --retire-only, just retire keys whose tokens have all expired."
    )

    def add_arguments(self, parser):
        parser.add_argument("--alg", choices=SIGNING_ALGORITHMS, help="Algorithm of the key prepared next, which signs from the following rotation (default: the next key's).")
        parser.add_argument("--if-older-than", type=int, metavar="DAYS", help="Rotate only if the active key is older.")
        parser.add_argument("--retire-only", action="store_true")

    def handle(self, *args, alg=None, if_older_than=None, retire_only=False, **options):
        actor = system_actor("rotate_signing_keys")
        if retire_only:
            retired = signing_keys_retire_due(actor=actor)
            self.stdout.write(f"Retired {len(retired)} key(s).")
            return
        if if_older_than is not None:
            if if_older_than < 1:
                raise CommandError("--if-older-than is a number of days, at least 1.")
            active = SigningKey.objects.filter(state=KeyState.ACTIVE).first()
            if active and active.activated_at and active.activated_at > timezone.now() - timedelta(days=if_older_than):
                retired = signing_keys_retire_due(actor=actor)
                self.stdout.write(f"The active key {active.kid} is younger than {if_older_than} days; not rotated. Retired {len(retired)}.")
                return
        key = signing_keys_rotate(actor=actor, alg=alg)
        self.stdout.write(rotated_message(key, alg))
