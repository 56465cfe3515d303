"""The inventory in Django admin: for looking, not for changing.

Every change to an identity goes through inventory.services, which validates it, moves
the owners' object permissions, runs the lifecycle's side effects (revoking tokens on
suspend and offboard) and writes the audit event, all in one transaction. An admin form
would do none of that: it could activate an identity with no owner, hand it to a new
owner who cannot see it or whose role may not own it (inventory/owner_roles.py), or leave
no trace. So the admin is read-only and each identity
links to its portal page, where the change is made and recorded.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from nhiportal.readonly_admin import ReadOnlyAdmin, ReadOnlyTabularInline

from .models import AIIdentity, Attestation, Ownership


class OwnershipInline(ReadOnlyTabularInline):
    model = Ownership
    fields = ["person", "role", "since"]
    readonly_fields = fields


@admin.register(AIIdentity)
class AIIdentityAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "status", "environment", "autonomy", "attestation_due", "created_at"]
    list_filter = ["status", "kind", "environment", "autonomy", "sensitivity_ceiling"]
    search_fields = ["name", "purpose", "trust_boundary", "=id"]
    date_hierarchy = "created_at"
    readonly_fields = ["portal_page"]
    inlines = [OwnershipInline]
    fieldsets = [
        (None, {"fields": ["portal_page", "name", "kind", "purpose", "environment", "trust_boundary"]}),
        ("Risk", {"fields": ["autonomy", "sensitivity_ceiling", "offboarding_plan"]}),
        ("Lifecycle", {"fields": ["status", "status_reason", "status_changed_at", "version"]}),
        ("Attestation", {"fields": ["attestation_interval_days", "attestation_due", "last_attested_at"]}),
        ("Record", {"fields": ["id", "created_by", "created_at", "updated_at"]}),
    ]

    @admin.display(description="Change it in the portal")
    def portal_page(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("inventory:identity-detail", args=[obj.pk]), obj.name)


@admin.register(Ownership)
class OwnershipAdmin(ReadOnlyAdmin):
    list_display = ["identity", "person", "role", "since"]
    list_filter = ["role"]
    search_fields = ["identity__name", "person__username"]
    list_select_related = ["identity", "person"]


@admin.register(Attestation)
class AttestationAdmin(ReadOnlyAdmin):
    list_display = ["identity", "person", "attested_at", "review", "reviewed_by_label"]
    list_filter = ["review"]
    search_fields = ["identity__name", "person__username", "note"]
    date_hierarchy = "attested_at"
    list_select_related = ["identity", "person"]
