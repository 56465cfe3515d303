"""Grants report their end: the sweep writes one grant.expired event per grant that runs out
(tokens/services.py grants_expired_report). Grants that ran out before this count as reported
at their end, so the first sweep after the upgrade reports what ends from then on, not years of
past grants at once."""

from django.db import migrations, models
from django.db.models import F
from django.utils import timezone


def mark_past_ends_reported(apps, schema_editor):
    Grant = apps.get_model("tokens", "Grant")
    Grant.objects.filter(revoked_at__isnull=True, ends_at__lte=timezone.now()).update(expiry_reported_at=F("ends_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("tokens", "0041_task_approved_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="grant",
            name="expiry_reported_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(mark_past_ends_reported, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="grant",
            index=models.Index(
                condition=models.Q(("expiry_reported_at__isnull", True), ("revoked_at__isnull", True)),
                fields=["ends_at"],
                name="grant_expiry_unreported_idx",
            ),
        ),
    ]
