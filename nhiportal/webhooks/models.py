import hashlib
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from nhiportal.encryption import decrypt, encrypt


# What a URL's password (or a user name alone, often a token) is shown as.
MASK = "***"


def _userinfo(url: str) -> tuple[str, str, str] | None:
    """("scheme://", the userinfo, the host and the rest) of a URL that carries a user name or
    password ("https://svc:pw@host/x"), its text otherwise untouched; None for one that carries
    neither."""
    parts = urlsplit(url)
    userinfo, at, _host = parts.netloc.rpartition("@")
    start = len(parts.scheme) + 3
    if not at or url[start:start + len(parts.netloc)] != parts.netloc:
        return None
    return url[:start], userinfo, url[start + len(userinfo) + 1:]


def masked_userinfo(userinfo: str) -> str:
    """A URL's user name and password, "svc:pw", as "svc:***"; a user name alone as "***"."""
    user, colon, _password = userinfo.partition(":")
    return f"{user}:{MASK}" if colon else MASK


def masked_url(url: str) -> str:
    """The URL whole but for its password, shown as *** ("http://svc:***@host/x"); a user name
    with no password is shown as *** too, since it is then usually the token itself. What the
    pages and the API show a security admin: delivery sends the password (Basic auth), nothing
    else shows it."""
    split = _userinfo(url)
    if split is None:
        return url
    head, userinfo, rest = split
    return f"{head}{masked_userinfo(userinfo)}@{rest}"


def password_of(url: str) -> str:
    """The URL's password as typed, or its user name when it has no password (then usually a
    token); empty if neither: to tell whether it changed, and to keep it out of what a failed
    delivery records."""
    split = _userinfo(url)
    if split is None:
        return ""
    user, colon, password = split[1].partition(":")
    return password if colon else user


def with_kept_password(url: str, kept: str) -> str:
    """`url` as a security admin submitted it, with the password the portal keeps put back where
    they left its mask (the edit form and the API show "svc:***@"): the same user at the same
    scheme, host and port only, so a kept password never goes to an address it was not given
    for. Any other URL is taken as it is."""
    split = _userinfo(url)
    if split is None or not (split[1] == MASK or split[1].partition(":")[2] == MASK):
        return url
    head, userinfo, rest = split
    old = _userinfo(kept)
    if old is None or masked_userinfo(old[1]) != userinfo:
        raise ValidationError({"url": f"{MASK} stands for the password the portal keeps for this user: type the password itself."})
    try:
        new_place, old_place = urlsplit(url), urlsplit(kept)
        same = (new_place.scheme, new_place.hostname, new_place.port) == (old_place.scheme, old_place.hostname, old_place.port)
    except ValueError:
        same = False
    if not same:
        raise ValidationError({"url": (
            "Type the password again: the address changed, and the portal sends the password it keeps "
            "only to the address it was given for."
        )})
    return f"{head}{old[1]}@{rest}"


def shown_url(url: str) -> str:
    """An endpoint's address as lists, ordering and the audit trail keep it: its origin with any
    password masked (masked_url), and a fingerprint of the rest. A chat's incoming-webhook URL is
    that channel's only credential (Slack's path is the secret), a URL's password is the
    receiver's, and the trail is pushed to every other receiver and exported."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    rest = url[len(origin):]
    return masked_url(origin) + (f"/… (sha256 {hashlib.sha256(rest.encode()).hexdigest()[:12]})" if rest.strip("/") else "")


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

    @property
    def url_masked(self) -> str:
        """The URL as pages and the API show it: whole, but for its password (masked_url)."""
        return masked_url(self.url)


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
