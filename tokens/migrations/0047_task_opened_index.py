"""Every task newest first, off an index (tokens/models.py, Task.Meta). On PostgreSQL it is
built without locking the table (nhiportal/index_rebuild.py), so a large task table keeps
taking tokens' tasks meanwhile."""

from django.conf import settings
from django.db import migrations, models

from nhiportal.index_rebuild import BuildIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("inventory", "0018_ownership_notified_at"),
        ("tokens", "0046_identity_indexes_ascending"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        BuildIndex("task", models.Index(fields=["opened_at", "id"], name="task_opened_idx")),
    ]
