from django.contrib import admin

from nhiportal.readonly_admin import ReadOnlyAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: the log is append-only, even for superusers."""

    list_display = ["at", "actor_label", "action", "object_type", "object_id", "object_repr", "request_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "object_repr", "actor_label", "request_id"]
    date_hierarchy = "at"
