"""Reads for the webhook pages."""

from django.db.models import QuerySet

from .models import WebhookDelivery, WebhookEndpoint

RECENT = 25


def endpoints() -> QuerySet:
    return WebhookEndpoint.objects.select_related("created_by").order_by("url_shown", "pk")


def recent_deliveries(endpoint) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-attempted_at", "-id")[:RECENT])
