from django.contrib import admin

from nhiportal.readonly_admin import ReadOnlyAdmin

from .models import ComplianceSnapshot


@admin.register(ComplianceSnapshot)
class ComplianceSnapshotAdmin(ReadOnlyAdmin):
    """Read-only: snapshots are evidence; they come from manage.py compliance_snapshot."""

    list_display = ["taken_at", "taken_by_label", "passing"]
    date_hierarchy = "taken_at"
