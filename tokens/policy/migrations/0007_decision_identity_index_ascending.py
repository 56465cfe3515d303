"""The decisions' identity index ascends in time, as the ledger's (tokens 0046): a page less
written per token. Rebuilt on PostgreSQL without locking the table (nhiportal/index_rebuild.py)."""

from django.db import migrations, models

from nhiportal.index_rebuild import RebuildIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("policy", "0006_decision_order_tie_break"),
    ]

    operations = [
        RebuildIndex(
            "policydecision",
            old=models.Index(fields=["identity_id", "-at"], name="decision_identity_idx"),
            new=models.Index(fields=["identity_id", "at"], name="decision_identity_idx"),
        ),
    ]
