"""Owners are told when someone else makes them an owner (manage.py notify_new_owners).

Every ownership that exists before this migration counts as told when it began (since), so
the first sweep after an upgrade does not mail every owner of every identity about
ownerships they have held for years.
"""

from django.db import migrations, models
from django.db.models import F


def told_when_it_began(apps, schema_editor):
    Ownership = apps.get_model("inventory", "Ownership")
    Ownership.objects.filter(notified_at__isnull=True).update(notified_at=F("since"))


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0017_identity_name_unique_any_case"),
    ]

    operations = [
        migrations.AddField(
            model_name="ownership",
            name="notified_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        # Schema first, data last: PostgreSQL alters no table with the update's row events pending.
        migrations.AddIndex(
            model_name="ownership",
            index=models.Index(condition=models.Q(("notified_at__isnull", True)), fields=["notified_at"], name="ownership_untold"),
        ),
        migrations.RunPython(told_when_it_began, migrations.RunPython.noop),
    ]
