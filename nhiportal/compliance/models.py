from django.db import models
from django.utils import timezone


class ComplianceSnapshot(models.Model):
    """Every control's status at one moment (manage.py compliance_snapshot, from cron), so an
    auditor can see that a control operated over a period, not only that it passes today."""

    taken_at = models.DateTimeField(default=timezone.now, db_index=True)
    taken_by_label = models.CharField(max_length=200)
    # control id -> {"status", "exceptions", "evidence"}
    results = models.JSONField()

    class Meta:
        ordering = ["-taken_at"]

    def __str__(self):
        return f"compliance snapshot {self.taken_at:%Y-%m-%d %H:%M}"

    def passing(self) -> int:
        return sum(r["status"] == "pass" for r in self.results.values())
