import hashlib
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.utils import timezone

from nhiportal.encryption import decrypt, encrypt


def shown_url(url: str) -> str:
    """An endpoint's address as lists, ordering and the audit trail keep it: its origin, and a
    fingerprint of the rest. A chat's incoming-webhook URL is that channel's only credential
    (Slack's path is the secret), and the trail is pushed to every other receiver and exported."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    rest = url[len(origin):]
    return origin + (f"/… (sha256 {hashlib.sha256(rest.encode()).hexdigest()[:12]})" if rest.strip("/") else "")


class PayloadFormat(models.TextChoices):
    STANDARD = "standard", "Standard Webhooks: the audit record as JSON, signed"
    # Slack, Mattermost, Google Chat and Teams incoming webhooks all read a "text" member.
    CHAT = "chat", "Chat message (Slack, Mattermost, Google Chat, Teams): one line of text"


class WebhookEndpoint(models.Model):
    """A URL that receives the audit events it subscribed to, signed (Standard Webhooks) under
    a secret kept encrypted at rest, as the URL is (a chat's incoming-webhook URL is a
    credential). Events go out in the audit log's order: `cursor` is the id of the last event
    handled, so a receiver that was down gets what it missed."""

    url_encrypted = models.BinaryField()
    url_shown = models.CharField(max_length=300, help_text="origin and a fingerprint of the rest (shown_url)")
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
        ordering = ["url_shown"]

    def __str__(self):
        return self.url_shown

    @property
    def url(self) -> str:
        return decrypt(bytes(self.url_encrypted)).decode() if self.url_encrypted else ""

    @url.setter
    def url(self, value: str) -> None:
        self.url_encrypted, self.url_shown = encrypt(value.encode()), shown_url(value)


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
