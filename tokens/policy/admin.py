"""Policy in Django admin: read-mostly.

A version's text never changes after it is saved, and activation and mode changes must run
the service functions (examples must pass; one audit event each). So fields are read-only,
and the only changes are admin actions that call those services. Decisions are a record:
read-only.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from nhiportal.readonly_admin import ReadOnlyAdmin

from . import services
from .access import can_change_policies
from .models import PolicyDecision, PolicyMode, PolicyVersion


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ReadOnlyAdmin):
    list_display = ["number", "is_active", "mode", "note", "created_by", "created_at", "activated_at", "portal_page"]
    list_filter = ["is_active", "mode"]
    search_fields = ["note", "text"]
    actions = ["activate", "log_only", "enforce"]

    @admin.display(description="Portal page")
    def portal_page(self, version):
        return format_html('<a href="{}">v{}</a>', reverse("policy:version-detail", args=[version.number]), version.number)

    @admin.action(description="Activate the selected version (its examples must pass, and no recent outcome change)")
    def activate(self, request, queryset):
        if not can_change_policies(request.user):
            self.message_user(request, "Only security admins change policies.", messages.ERROR)
            return
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one version to activate.", messages.ERROR)
            return
        version = queryset.get()
        try:
            # Outcomes replay says would change are checked, with a reason, on the portal's page.
            services.policy_version_activate(actor=request.user, version=version, changes_confirmed=False)
        except ValidationError as refusal:
            where = (
                f" Activate it on its portal page ({reverse('policy:version-activate', args=[version.number])}), "
                "which shows what changes and asks why."
                if getattr(refusal, "needs_confirmation", False) else ""
            )
            self.message_user(request, " ".join(refusal.messages) + where, messages.ERROR)
        else:
            self.message_user(request, f"Version {version.number} is now active.", messages.SUCCESS)

    def _set_mode(self, request, queryset, mode):
        if not can_change_policies(request.user):
            self.message_user(request, "Only security admins change policies.", messages.ERROR)
            return
        for version in queryset:
            services.policy_version_mode_set(actor=request.user, version=version, mode=mode)
        self.message_user(request, f"{queryset.count()} version(s) set to {mode.label.lower()}.", messages.SUCCESS)

    @admin.action(description="Log only (allow, record what would be denied)")
    def log_only(self, request, queryset):
        self._set_mode(request, queryset, PolicyMode.LOG_ONLY)

    @admin.action(description="Enforce")
    def enforce(self, request, queryset):
        self._set_mode(request, queryset, PolicyMode.ENFORCE)


@admin.register(PolicyDecision)
class PolicyDecisionAdmin(ReadOnlyAdmin):
    list_display = ["at", "action", "identity_id", "service_id", "decision", "enforced", "mode", "version", "eval_ms"]
    list_filter = ["decision", "enforced", "action", "mode"]
    search_fields = ["identity_id"]
    date_hierarchy = "at"
    list_select_related = ["version"]
