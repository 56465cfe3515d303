from django.contrib import admin

from nhiportal.readonly_admin import ReadOnlyAdmin

from .models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    # url_shown, never url: a chat's incoming-webhook URL is that channel's credential.
    list_display = ["url_shown", "enabled", "cursor", "failures", "failing_since", "last_success_at"]
    exclude = ["secret_encrypted", "url_encrypted"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["endpoint", "event_id", "action", "attempted_at", "status_code", "duration_ms"]
    list_filter = ["status_code"]
