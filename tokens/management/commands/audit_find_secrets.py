import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from nhiportal.audit.models import AuditEvent
from tokens.exposures import holds_secret

FIELDS = ("object_repr", "before", "after", "reason")


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, cls=DjangoJSONEncoder)


class Command(BaseCommand):
    help = (
        "List the audit events whose text holds something secret-shaped (a JWT, a personal API token, "
        "a private key), by id, action and field, never the secret. The hash chain keeps events as "
        "written, so the answer is to rotate what they name, not to edit them. Fails when it finds any."
    )

    def handle(self, *args, **options):
        found = 0
        events = AuditEvent.objects.order_by("pk").only("pk", "at", "action", "object_type", "object_id", *FIELDS)
        for event in events.iterator(chunk_size=2000):
            fields = [name for name in FIELDS if getattr(event, name) and holds_secret(_text(getattr(event, name)))]
            if fields:
                found += 1
                self.stdout.write(
                    f"event {event.pk} at {event.at:%Y-%m-%d %H:%M}: {event.action} on {event.object_type} {event.object_id}: "
                    f"{', '.join(fields)}"
                )
        if found:
            raise CommandError(
                f"{found} audit event(s) hold something secret-shaped. Rotate or revoke what each names "
                "(report it on /exposures/); the chain keeps the events as written."
            )
        self.stdout.write(self.style.SUCCESS("No audit event holds anything secret-shaped."))
