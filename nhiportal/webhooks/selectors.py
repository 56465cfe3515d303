"""Reads for the webhook pages."""

from django.db.models import QuerySet
from django.utils import timezone

from nhiportal.audit.models import AuditEvent

from .events import wanted
from .filters import DELIVERED
from .models import WebhookDelivery, WebhookEndpoint

RECENT = 25


def endpoints() -> QuerySet:
    return WebhookEndpoint.objects.select_related("created_by").order_by("url_shown", "pk")


def recent_deliveries(endpoint) -> list[WebhookDelivery]:
    return list(deliveries(endpoint)[:RECENT])


def deliveries(endpoint) -> QuerySet:
    """Every attempt to deliver to the endpoint that the portal still keeps, newest first."""
    return WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-attempted_at", "-id")


def attempts(delivery) -> list[WebhookDelivery]:
    """The latest attempts to deliver the same event to the same endpoint, this one among them."""
    if not delivery.event_id:
        return [delivery]
    return list(deliveries(delivery.endpoint_id).filter(event_id=delivery.event_id)[:RECENT])


def delivered_later(delivery) -> WebhookDelivery | None:
    """The attempt that delivered a failed delivery's event after all, if one did."""
    if not delivery.event_id:
        return None
    return deliveries(delivery.endpoint_id).filter(DELIVERED, event_id=delivery.event_id, id__gt=delivery.id).last()


def event_of(delivery) -> AuditEvent | None:
    """The audit event a delivery carried; None for a test event or the portal's own failure."""
    return AuditEvent.objects.filter(pk=delivery.event_id).first() if delivery.event_id else None


def redelivery_refusal(delivery, endpoint, now) -> str:
    """Why the delivery's event cannot be sent to the endpoint again now, or "" if it can.

    A failure stops the endpoint's queue, to keep the log's order: its event waits, and is tried
    again after a growing back-off (delivery.py). So redelivery sends that waiting event with the
    next sweep; an event that is no longer waiting has nothing to send."""
    if delivery.succeeded:
        return f"The receiver accepted this event (it answered {delivery.status_code}): there is nothing to redeliver."
    if delivery.action == "webhook.test":
        return "A test event is not redelivered: send a new test event."
    if not delivery.event_id:
        return "This attempt carried no event (the portal itself could not send): the webhook tries its waiting event again on its own."
    if endpoint is None:
        return "The webhook was deleted: there is nowhere to send the event."
    if not endpoint.enabled:
        return "The webhook is off: turn on “Send events” to send it events again."
    if later := delivered_later(delivery):
        return f"A later try delivered event #{delivery.event_id} (at {timezone.localtime(later.attempted_at):%Y-%m-%d %H:%M:%S})."
    if endpoint.cursor >= delivery.event_id:
        return f"Event #{delivery.event_id} no longer waits in this webhook's queue."
    if not wanted(delivery.action, endpoint.categories):
        return f"The webhook no longer takes this kind of event (only {', '.join(endpoint.categories)}): change its events to send it."
    if endpoint.leased_until and endpoint.leased_until > now:
        return "The portal is sending to this webhook right now: look at its deliveries again in a minute."
    if endpoint.next_attempt_at is None or endpoint.next_attempt_at <= now:
        return f"Event #{delivery.event_id} is queued already: the next sweep sends it."
    return ""
