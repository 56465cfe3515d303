from django.conf import settings
from django.db import models
from django.utils import timezone


class PayloadFormat(models.TextChoices):
    STANDARD = "standard", "Standard Webhooks: the audit record as JSON, signed"
    # Slack, Mattermost, Google Chat and Teams incoming webhooks all read a "text" member.
    CHAT = "chat", "Chat message (Slack, Mattermost, Google Chat, Teams): one line of text"


class WebhookEndpoint(models.Model):
    """A URL that receives the audit events it subscribed to, signed (Standard Webhooks) under
    a secret kept encrypted at rest. Events go out in the audit log's order: `cursor` is the
    id of the last event handled, so a receiver that was down gets what it missed."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    categories = models.JSONField(default=list, blank=True)  # keys of events.CATEGORIES; empty: all
    format = models.CharField(max_length=10, choices=PayloadFormat.choices, default=PayloadFormat.STANDARD)
    secret_encrypted = models.BinaryField()
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    cursor = models.BigIntegerField(default=0)
    # Delivery state: a failing endpoint is retried later and later (see delivery.py).
    failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    # A sender holds the endpoint until then, so two sweeps never send the same event twice.
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["url"]

    def __str__(self):
        return self.url


class WebhookDelivery(models.Model):
    """One attempt to deliver one event: what the receiver answered, and how fast."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.BigIntegerField()
    action = models.CharField(max_length=80)
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-attempted_at", "-id"]
        indexes = [models.Index(fields=["endpoint", "-attempted_at"], name="webhook_delivery_recent_idx")]

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
