from django.contrib import admin

from nhiportal.readonly_admin import ReadOnlyAdmin

from .models import DirectoryEntry, DirectoryGroup, PersonalAPIToken, SingleSignOnLink


@admin.register(PersonalAPIToken)
class PersonalAPITokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "purpose", "hint", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "hint"]
    readonly_fields = ["user", "name", "purpose", "hint", "token_hash", "created_at", "expires_at", "last_used_at", "revoked_at"]

    def has_add_permission(self, request):
        return False  # tokens are created in the portal or by command, shown once


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
