from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only, even for superusers."""

    list_display = ["at", "actor_label", "action", "object_type", "object_id", "object_repr", "request_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "object_repr", "actor_label", "request_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
