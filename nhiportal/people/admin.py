import axes.admin  # noqa: F401  (registers Axes' admins, replaced below)
import django.contrib.auth.admin  # noqa: F401  (registers Django's user and group admins, replaced below)
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from nhiportal.readonly_admin import ReadOnlyAdmin

from .lockouts import lockout_lift
from .models import DirectoryEntry, DirectoryGroup, PersonalAPIToken, SingleSignOnLink

# People, their roles (groups) and API tokens change through the portal's pages and services,
# each change with its audit event; Django's own admins for them would write none.
admin.site.unregister(get_user_model())
admin.site.unregister(Group)
admin.site.unregister(AccessAttempt)
# Axes' sign-in logs would be deletable there with no trace: read-only, as every record here.
admin.site.unregister(AccessLog)
admin.site.unregister(AccessFailureLog)


@admin.register(get_user_model())
class PersonAdmin(ReadOnlyAdmin):
    """Roles, deactivation and hand-over are on /users/ in the portal."""

    list_display = ["username", "email", "is_active", "is_superuser", "last_login", "date_joined"]
    list_filter = ["is_active", "is_superuser", "groups"]
    search_fields = ["username", "email", "first_name", "last_name"]
    exclude = ["password", "user_permissions"]


@admin.register(Group)
class RoleAdmin(ReadOnlyAdmin):
    """The portal's roles; who holds one is set on /users/."""

    list_display = ["name"]
    exclude = ["permissions"]


@admin.register(AccessAttempt)
class AccessAttemptAdmin(axes.admin.AccessAttemptAdmin):
    """Deleting an attempt lifts its lockout early (README, Sign-in): each one audited, in the
    deletion's transaction."""

    def delete_model(self, request, obj):
        with transaction.atomic():
            lockout_lift(actor=request.user, attempt=obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for attempt in queryset:
                lockout_lift(actor=request.user, attempt=attempt)
            super().delete_queryset(request, queryset)


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin, axes.admin.AccessLogAdmin):
    pass


@admin.register(AccessFailureLog)
class AccessFailureLogAdmin(ReadOnlyAdmin, axes.admin.AccessFailureLogAdmin):
    pass


@admin.register(PersonalAPIToken)
class PersonalAPITokenAdmin(ReadOnlyAdmin):
    """Created in the portal or by command (shown once), revoked on the holder's API tokens page."""

    list_display = ["name", "user", "purpose", "hint", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "hint"]
    exclude = ["token_hash"]


@admin.register(SingleSignOnLink)
class SingleSignOnLinkAdmin(ReadOnlyAdmin):
    """Links are made by signing in through the provider, each with its audit event."""

    list_display = ["user", "issuer", "subject", "created_at", "last_sign_in_at"]
    search_fields = ["user__username", "subject"]


@admin.register(DirectoryEntry)
class DirectoryEntryAdmin(ReadOnlyAdmin):
    """Written by the directory over SCIM, each change with its audit event."""

    list_display = ["user", "external_id", "created_at", "deleted_at"]
    search_fields = ["user__username", "external_id"]


@admin.register(DirectoryGroup)
class DirectoryGroupAdmin(ReadOnlyAdmin):
    """Written by the directory over SCIM, each change with its audit event."""

    list_display = ["display_name", "external_id", "created_at", "updated_at", "deleted_at"]
    search_fields = ["display_name", "external_id"]
