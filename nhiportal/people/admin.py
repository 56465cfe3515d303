from django.contrib import admin

from .models import PersonalAPIToken


@admin.register(PersonalAPIToken)
class PersonalAPITokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "hint", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "hint"]
    readonly_fields = ["user", "name", "hint", "token_hash", "created_at", "expires_at", "last_used_at", "revoked_at"]

    def has_add_permission(self, request):
        return False  # tokens are created in the portal or by command, shown once
