"""The identity indexes of the ledger and the tasks ascend in time (see tokens/models.py,
Task.Meta): each token then writes about a page less per index to the WAL. Pages still read
them newest first, scanning backwards. On PostgreSQL they are rebuilt without locking the
tables (nhiportal/index_rebuild.py), so a large ledger keeps issuing meanwhile."""

from django.conf import settings
from django.db import migrations, models

from nhiportal.index_rebuild import RebuildIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("inventory", "0018_ownership_notified_at"),
        ("tokens", "0045_canonical_key_thumbprints"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        RebuildIndex(
            "issuedtoken",
            old=models.Index(fields=["identity", "-issued_at"], name="token_identity_idx"),
            new=models.Index(fields=["identity", "issued_at"], name="token_identity_idx"),
        ),
        RebuildIndex(
            "task",
            old=models.Index(fields=["identity", "-opened_at"], name="task_identity_idx"),
            new=models.Index(fields=["identity", "opened_at"], name="task_identity_idx"),
        ),
    ]
