"""Writes for webhook endpoints (security admins): each one transaction, one audit event. The
signing secret is returned once, on creation and rotation, and kept only encrypted."""

import base64
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from nhiportal.audit.services import audit_record
from nhiportal.conflicts import StateConflict
from nhiportal.encryption import encrypt
from nhiportal.outbound import validate_url
from nhiportal.people.roles import is_security_admin

from .delivery import due_now
from .events import CATEGORIES
from .models import PayloadFormat, WebhookEndpoint, password_of, shown_url, with_kept_password
from .selectors import redelivery_refusal

SECRET_PREFIX = "whsec_"  # Standard Webhooks' form: the prefix, then the base64 key


def _new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _only_security_admins(actor) -> None:
    if not is_security_admin(actor):
        raise PermissionDenied("Webhooks are managed by security admins.")


_URL = URLValidator(schemes=["http", "https"])


def _check(url: str, categories) -> list[str]:
    try:
        _URL(url)
    except ValidationError:
        raise ValidationError({"url": "Give an http:// or https:// URL."}) from None
    validate_url(url, "url")
    longest = WebhookEndpoint._meta.get_field("url_shown").max_length
    if len(shown_url(url)) > longest:
        raise ValidationError({"url": f"This address's host and user name are too long: the portal shows at most {longest} characters of them."})
    unknown = set(categories) - set(CATEGORIES)
    if unknown:
        raise ValidationError({"categories": f"Unknown event kind {sorted(unknown)[0]!r}."})
    return sorted(categories)


def _format(value: str) -> str:
    if value not in PayloadFormat.values:
        raise ValidationError({"format": f"Unknown format {value!r}; one of {', '.join(PayloadFormat.values)}."})
    return value


def _shown(endpoint) -> dict:
    return {
        "url": endpoint.url_shown, "description": endpoint.description, "categories": endpoint.categories or "all",
        "format": endpoint.format, "enabled": endpoint.enabled,
    }


@transaction.atomic
def endpoint_create(
    *, actor, url: str, description: str = "", categories=(), format: str = PayloadFormat.STANDARD, enabled: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint receives what happens from now on (not the log's past); one created
    disabled receives nothing until it is turned on, and then what happened since it was made."""
    _only_security_admins(actor)
    raw = _new_secret()
    endpoint = WebhookEndpoint.objects.create(
        url=url, description=description, categories=_check(url, categories), format=_format(format), secret_encrypted=encrypt(raw.encode()),
        enabled=bool(enabled), created_by=actor, cursor=AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0,
    )
    audit_record(actor=actor, action="webhook.create", obj=endpoint, object_repr=endpoint.url_shown, after=_shown(endpoint))
    # The event just written is about the endpoint itself: it is not sent to it.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(cursor=AuditEvent.objects.aggregate(last=Max("id"))["last"])
    return endpoint, raw


def _password_change(old_url: str, new_url: str) -> tuple[dict, dict]:
    """How the trail records a new password, which it never shows: "set", "changed" or "none"."""
    old, new = password_of(old_url), password_of(new_url)
    if old == new:
        return {}, {}
    return {"password": "set" if old else "none"}, {"password": ("changed" if old else "set") if new else "none"}


@transaction.atomic
def endpoint_update(*, actor, endpoint, url: str, description: str, categories, enabled: bool, format: str = PayloadFormat.STANDARD) -> WebhookEndpoint:
    """Change an endpoint. Its URL's password is shown masked ("svc:***@host"): a URL that keeps
    the mask keeps the password held for that user at that address (models.with_kept_password)."""
    _only_security_admins(actor)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    before = _shown(endpoint)
    old_url = endpoint.url
    url = with_kept_password(url, old_url)
    endpoint.url, endpoint.description, endpoint.categories, endpoint.enabled = url, description, _check(url, categories), enabled
    endpoint.format = _format(format)
    if enabled and not before["enabled"]:
        # Back on: try at once, and start the back-off over.
        endpoint.failures, endpoint.next_attempt_at = 0, None
    endpoint.save()
    after = _shown(endpoint)
    was, now = _password_change(old_url, url)
    before, after = {**before, **was}, {**after, **now}
    if after != before:
        audit_record(actor=actor, action="webhook.update", obj=endpoint, object_repr=endpoint.url_shown, before=before, after=after)
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, actor, endpoint) -> str:
    """A new signing secret, in force at once; the old one stops verifying."""
    _only_security_admins(actor)
    raw = _new_secret()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret_encrypted=encrypt(raw.encode()))
    audit_record(actor=actor, action="webhook.rotate_secret", obj=endpoint, object_repr=endpoint.url_shown)
    return raw


@transaction.atomic
def endpoint_delete(*, actor, endpoint, reason: str = "") -> WebhookEndpoint:
    _only_security_admins(actor)
    audit_record(actor=actor, action="webhook.delete", obj=endpoint, object_repr=endpoint.url_shown, before=_shown(endpoint), reason=reason)
    endpoint.delete()
    return endpoint


QUEUED = "Queued: the next sweep sends event #{} to this webhook again."


@transaction.atomic
def delivery_redeliver(*, actor, delivery) -> WebhookEndpoint:
    """Send a failed delivery's event to its endpoint again, with the next sweep. The event
    still waits at the head of the endpoint's queue (a failure stops it, to keep the order), so
    this cuts the queue's back-off short rather than sending beside it: the receiver gets the
    event once more under the same webhook-id, in order, and the queue moves on when it lands."""
    _only_security_admins(actor)
    endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=delivery.endpoint_id).first()
    now = timezone.now()
    if refusal := redelivery_refusal(delivery, endpoint, now):
        raise StateConflict(refusal)
    # The endpoint's row is locked (on SQLite, the database), so no sender took it up meanwhile.
    due_now(endpoint.pk, now)
    audit_record(
        actor=actor, action="webhook.redeliver", obj=endpoint, object_repr=endpoint.url_shown,
        after={"event": delivery.event_id, "action": delivery.action, "failed_delivery": delivery.pk},
    )
    return endpoint
