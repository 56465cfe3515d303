"""Webhook delivery when a sender outlives its lease or cannot sign for an endpoint: no event
sent twice by design, no cursor moved by a sender that lost the endpoint, no endpoint starving
the others."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from nhiportal.webhooks import delivery
from nhiportal.webhooks.models import WebhookDelivery, WebhookEndpoint
from nhiportal.webhooks.services import endpoint_create
from tests.misbehaving_server import MisbehavingServer

pytestmark = pytest.mark.django_db


def test_a_sender_that_lost_its_lease_stops_and_leaves_the_cursor_to_the_new_holder(receiver, sam, alice, make_identity):
    endpoint, _ = endpoint_create(actor=sam, url=receiver.url)
    make_identity(alice, name="first")
    make_identity(alice, name="second")
    cursor = WebhookEndpoint.objects.get(pk=endpoint.pk).cursor
    now = timezone.now()
    held = delivery._claim(endpoint.pk, now)
    assert held and delivery._claim(endpoint.pk, now) is None  # held: nobody else gets it
    # The lease runs out mid-batch and another sweeper takes the endpoint over.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(leased_until=now - timedelta(seconds=1))
    taken_over = delivery._claim(endpoint.pk, timezone.now())
    assert taken_over
    with pytest.raises(delivery._LeaseLost):
        delivery.deliver_endpoint(WebhookEndpoint.objects.get(pk=endpoint.pk), delivery._Lease(endpoint.pk, held))
    assert receiver.requests == []  # it stopped before sending
    endpoint.refresh_from_db()
    assert endpoint.leased_until == taken_over and endpoint.cursor == cursor
    delivery._Lease(endpoint.pk, held).release()  # letting go of a lease it lost frees nothing
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).leased_until == taken_over


def test_a_lease_is_renewed_event_by_event_so_a_long_batch_keeps_it(receiver, sam, alice, make_identity):
    endpoint, _ = endpoint_create(actor=sam, url=receiver.url)
    for n in range(3):
        make_identity(alice, name=f"agent-{n}")
    lease = delivery._Lease(endpoint.pk, delivery._claim(endpoint.pk, timezone.now() - delivery.LEASE))  # all but over
    sent, failed = delivery.deliver_endpoint(WebhookEndpoint.objects.get(pk=endpoint.pk), lease)
    assert sent >= 3 and not failed and lease.until > timezone.now() + delivery.LEASE - timedelta(seconds=30)


def test_an_endpoint_the_portal_cannot_sign_for_is_backed_off_and_the_others_still_get_their_events(receiver, sam, alice, make_identity):
    broken, _ = endpoint_create(actor=sam, url=receiver.url + "/broken")
    working, _ = endpoint_create(actor=sam, url=receiver.url)
    WebhookEndpoint.objects.filter(pk=broken.pk).update(secret_encrypted=b"not what the portal encrypted")
    make_identity(alice, name="seen")
    summary = delivery.deliver_all()
    assert summary["failing"] == 1 and summary["sent"] >= 1 and receiver.requests
    broken.refresh_from_db()
    assert broken.failures == 1 and broken.next_attempt_at > timezone.now() and broken.leased_until is None
    recorded = WebhookDelivery.objects.get(endpoint=broken)
    assert recorded.status_code is None and recorded.error.startswith("the portal could not send")
    assert WebhookEndpoint.objects.get(pk=working.pk).failures == 0


def test_a_receiver_trickling_its_status_line_and_headers_is_cut_off_and_the_others_still_get_their_events(receiver, sam, alice, make_identity, monkeypatch):
    monkeypatch.setattr(delivery, "TIMEOUT_SECONDS", 1)
    trickling = MisbehavingServer(every=0.2)  # a byte every fifth of a second: never a second's silence
    trickling.respond("204 No Content", b"", X_Padding="p" * 40)  # some 25 s in all
    try:
        slow, _ = endpoint_create(actor=sam, url=trickling.origin + "/hooks")
        working, _ = endpoint_create(actor=sam, url=receiver.url)
        make_identity(alice, name="seen")
        started = time.monotonic()
        summary = delivery.deliver_all()
    finally:
        trickling.stop()
    assert time.monotonic() - started < 4
    assert summary["failing"] == 1 and summary["sent"] >= 1 and receiver.requests
    recorded = WebhookDelivery.objects.get(endpoint=slow)
    assert recorded.status_code is None and "took too long" in recorded.error
    assert WebhookEndpoint.objects.get(pk=working.pk).failures == 0


def test_a_failed_delivery_records_why_without_the_receivers_secret_path(sam, alice, make_identity):
    # A chat's incoming-webhook URL is that channel's credential, kept encrypted at rest; the
    # delivery's error is kept in clear (and listed in Django admin), and requests names the
    # URL it failed on in its message.
    endpoint, _ = endpoint_create(actor=sam, url="http://127.0.0.1:9/services/T0/B0/XyZsecretPart?token=QsecretQ", format="chat")
    make_identity(alice, name="seen")
    delivery.deliver_all()
    recorded = WebhookDelivery.objects.get(endpoint=endpoint)
    assert recorded.error.startswith("ConnectionError") and "Connection refused" in recorded.error
    assert "XyZsecretPart" not in recorded.error and "QsecretQ" not in recorded.error
