"""`manage.py encryption_key_rotate`: re-encrypt every kept secret under the newest NHI_KEY_ENCRYPTION_KEY.

With NHI_KEY_ENCRYPTION_KEY set to `new,old`, every signing key, authenticator secret,
webhook secret and webhook URL is decrypted and encrypted again under `new`, in one transaction, with one
audit event that counts them (never a secret). `--check` changes nothing: it counts what is
still under an older key and fails if any is, or if some secret no configured key reads.
Then drop the old key from the setting.
"""

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from nhiportal.audit.services import audit_record, system_actor
from nhiportal.encryption import encrypted_values, key_count, readable, reencrypt, under_newest_key


class Command(BaseCommand):
    help = "Re-encrypt the portal's kept secrets under the first key of NHI_KEY_ENCRYPTION_KEY (or --check what is left)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="count the secrets still under an older key; change nothing")

    def handle(self, *args, **options):
        if options["check"]:
            return self._check()
        if key_count() < 2:
            raise CommandError(
                "NHI_KEY_ENCRYPTION_KEY holds one key. Put the new key first, then the old one (new,old), restart, and run this again."
            )
        counts = {}
        with transaction.atomic():
            for what, model, field in encrypted_values():
                rows = model.objects.select_for_update().exclude(**{field: None}).values_list("pk", field)
                for pk, token in rows:
                    try:
                        model.objects.filter(pk=pk).update(**{field: reencrypt(token)})
                    except InvalidToken:
                        raise CommandError(f"One of the {what} (id {pk}) is readable by none of the keys given: nothing was changed.") from None
                counts[what] = len(rows)
            audit_record(
                actor=system_actor("encryption_key_rotate"), action="encryption.key_rotate", object_type="nhiportal.encryption",
                object_id="key-encryption-key", object_repr="the key-encryption key", after={**counts, "keys configured": key_count()},
            )
        said = ", ".join(f"{n} {what}" for what, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted under the newest key: {said}. Now drop the older keys from NHI_KEY_ENCRYPTION_KEY."))

    def _check(self):
        older, unreadable, lines = 0, 0, []
        for what, model, field in encrypted_values():
            tokens = list(model.objects.exclude(**{field: None}).values_list(field, flat=True))
            behind = [token for token in tokens if not under_newest_key(token)]
            lost = sum(1 for token in behind if not readable(token))
            older, unreadable = older + len(behind) - lost, unreadable + lost
            lines.append(f"{what}: {len(tokens)}, {len(behind) - lost} under an older key" + (f", {lost} readable by no key given" if lost else ""))
        self.stdout.write("\n".join(lines))
        if unreadable:
            raise CommandError(f"{unreadable} secret(s) are readable by none of the keys given: is a key missing from NHI_KEY_ENCRYPTION_KEY?")
        if older:
            raise CommandError(f"{older} secret(s) are still under an older key: run manage.py encryption_key_rotate before dropping it.")
        self.stdout.write(self.style.SUCCESS("Every secret is under the newest key."))
