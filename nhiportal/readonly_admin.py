"""Read-only Django admin classes, shared by every app.

Changes go through each app's services, which validate, audit and run side effects in one
transaction; an admin form would do none of that. So the admin is for looking.
"""

from django.contrib import admin


class _NoWrites:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(_NoWrites, admin.ModelAdmin):
    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyTabularInline(_NoWrites, admin.TabularInline):
    extra = 0
    can_delete = False
