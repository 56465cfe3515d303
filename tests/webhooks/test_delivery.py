"""Audit events reach the webhook receivers that subscribed to them: signed, in order, once,
and again after the receiver comes back."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from inventory.services import identity_activate, identity_suspend
from nhiportal.audit.models import AuditEvent
from nhiportal.webhooks.delivery import deliver_all
from nhiportal.webhooks.models import WebhookDelivery, WebhookEndpoint
from nhiportal.webhooks.services import endpoint_create, endpoint_update

pytestmark = pytest.mark.django_db


def received(receiver, secret):
    """What the receiver got, each verified as a receiver would (signature and freshness)."""
    return [Webhook(secret).verify(body, headers) for headers, body in receiver.requests]


def test_a_receiver_gets_each_new_event_signed_in_order_and_nothing_from_before(receiver, sam, alice, make_identity):
    earlier = make_identity(alice, name="before-the-webhook")
    endpoint, secret = endpoint_create(actor=sam, url=receiver.url, description="SOC")
    identity = make_identity(alice, name="after-the-webhook")
    identity_activate(actor=alice, identity=identity)
    identity_suspend(actor=sam, identity=identity, reason="testing")
    call_command("deliver_webhooks", stdout=open("/dev/null", "w"))
    messages = received(receiver, secret)
    actions = [m["type"] for m in messages]
    assert actions == list(AuditEvent.objects.filter(id__gt=AuditEvent.objects.get(action="webhook.create").id).order_by("id").values_list("action", flat=True))
    assert "identity.suspend" in actions and all(m["data"]["object_repr"] != earlier.name for m in messages)
    suspend = next(m for m in messages if m["type"] == "identity.suspend")
    assert suspend["data"]["reason"] == "testing" and suspend["data"]["actor_label"] == "sam" and suspend["data"]["identity_id"] == str(identity.pk)
    ids = [headers["webhook-id"] for headers, _ in receiver.requests]
    assert ids == [f"evt_{m['data']['id']}" for m in messages]
    assert receiver.requests[0][0]["user-agent"].startswith("NHI-Portal-Webhooks")
    # Nothing new: nothing sent again.
    deliver_all()
    assert len(receiver.requests) == len(messages)
    # A body changed on the way fails verification.
    headers, body = receiver.requests[0]
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b'"type":"', b'"type":"forged.'), headers)


def test_a_down_receiver_holds_the_queue_and_gets_it_all_in_order_when_back(receiver, sam, alice, make_identity):
    endpoint, secret = endpoint_create(actor=sam, url=receiver.url)
    receiver.status = 503
    make_identity(alice, name="first")
    make_identity(alice, name="second")
    summary = deliver_all()
    assert summary == {"endpoints": 1, "sent": 0, "failing": 1}
    endpoint.refresh_from_db()
    assert endpoint.failures == 1 and endpoint.failing_since and endpoint.next_attempt_at > timezone.now()
    assert len(receiver.requests) == 1  # the queue stopped at the first event
    deliver_all()
    assert len(receiver.requests) == 1  # not due yet: backing off
    receiver.status = 200
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert deliver_all()["failing"] == 0
    first_try, *delivered = received(receiver, secret)
    assert first_try == delivered[0]  # the same event again, the same webhook-id
    assert [m["data"]["object_repr"] for m in delivered if m["type"] == "identity.register"] == ["first", "second"]
    endpoint.refresh_from_db()
    assert endpoint.failures == 0 and endpoint.failing_since is None and endpoint.last_success_at
    assert WebhookDelivery.objects.filter(endpoint=endpoint, status_code=503).count() == 1


def test_an_endpoint_gets_only_the_kinds_of_event_it_chose(receiver, sam, alice, make_identity):
    endpoint, secret = endpoint_create(actor=sam, url=receiver.url, categories=["security", "people"])
    make_identity(alice, name="not-security")
    from nhiportal.people.services import person_deactivate
    person_deactivate(person=alice, actor=sam, reason="left")
    deliver_all()
    assert [m["type"] for m in received(receiver, secret)] == ["person.deactivate"]
    endpoint.refresh_from_db()
    assert endpoint.cursor == AuditEvent.objects.latest("id").id  # skipped events are passed, not kept


def test_a_disabled_endpoint_gets_nothing_and_a_leased_one_is_left_to_its_sender(receiver, sam, alice, make_identity):
    endpoint, _ = endpoint_create(actor=sam, url=receiver.url)
    endpoint_update(actor=sam, endpoint=endpoint, url=receiver.url, description="", categories=[], enabled=False)
    make_identity(alice)
    deliver_all()
    assert receiver.requests == []
    endpoint_update(actor=sam, endpoint=endpoint, url=receiver.url, description="", categories=[], enabled=True)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(leased_until=timezone.now() + timedelta(minutes=1))
    assert deliver_all()["endpoints"] == 0 and receiver.requests == []
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(leased_until=timezone.now() - timedelta(seconds=1))
    assert deliver_all()["sent"] >= 1


def test_an_unreachable_receiver_is_recorded_not_raised(sam, alice, make_identity):
    endpoint, _ = endpoint_create(actor=sam, url="http://127.0.0.1:9/nothing-listens")
    make_identity(alice)
    assert deliver_all()["failing"] == 1
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status_code is None and "ConnectionError" in delivery.error


def test_the_secret_is_kept_encrypted_and_the_sweep_sends(receiver, sam, alice, make_identity):
    endpoint, secret = endpoint_create(actor=sam, url=receiver.url)
    assert secret.startswith("whsec_") and secret.encode() not in bytes(WebhookEndpoint.objects.get(pk=endpoint.pk).secret_encrypted)
    make_identity(alice, name="swept")
    call_command("governance_sweep", stdout=open("/dev/null", "w"), stderr=open("/dev/null", "w"))
    assert any(m["data"]["object_repr"] == "swept" for m in received(receiver, secret))
    assert json.loads(receiver.requests[0][1])["timestamp"]


def test_a_chat_channel_gets_one_readable_line_per_event_with_a_link(receiver, sam, alice, make_identity):
    from nhiportal.webhooks.delivery import send_test

    endpoint, _ = endpoint_create(actor=sam, url=receiver.url, categories=["identities"], format="chat")
    identity = make_identity(alice, name="ticket-bot")
    identity_activate(actor=alice, identity=identity)
    identity_suspend(actor=sam, identity=identity, reason="leaked key in a notebook")
    deliver_all()
    lines = [json.loads(body) for _, body in receiver.requests]
    assert all(set(line) == {"text"} for line in lines)
    assert lines[-1]["text"] == (
        f"NHI Portal: sam · Identity: suspend · ticket-bot (leaked key in a notebook) http://testserver/identities/{identity.pk}/"
    )
    send_test(endpoint)
    assert json.loads(receiver.requests[-1][1])["text"].startswith("NHI Portal: NHI Portal · Webhook: test · a test message")


def test_a_receiver_answering_a_byte_at_a_time_holds_the_sweep_no_longer_than_its_timeout(sam, monkeypatch):
    import time

    from nhiportal.webhooks import delivery
    from tests.slow_server import SlowServer

    monkeypatch.setattr(delivery, "TIMEOUT_SECONDS", 1)
    server = SlowServer(body=b"x" * 40, every=0.3)  # 200, then 40 bytes a third of a second apart: 12 s
    try:
        endpoint, _ = endpoint_create(actor=sam, url=server.origin + "/hooks")
        started = time.monotonic()
        status, error, _ = delivery.post(endpoint, "evt_1", {"type": "webhook.test"})
    finally:
        server.stop()
    assert (status, error) == (200, "") and time.monotonic() - started < 3


def test_a_chat_channels_secret_url_stays_out_of_the_trail_the_others_receive(receiver, sam):
    from nhiportal.webhooks.models import PayloadFormat

    secret_path = "T0AAAAAAA/B0BBBBBBB/XyZsecretPartOfTheHook123"
    endpoint_create(actor=sam, url=receiver.url, description="SOC", format=PayloadFormat.CHAT)
    endpoint_create(actor=sam, url=f"https://hooks.slack.com/services/{secret_path}", format=PayloadFormat.CHAT, categories=["people"])
    deliver_all()
    sent = b"".join(body for _headers, body in receiver.requests)
    assert b"Webhook: create" in sent and b"https://hooks.slack.com/\\u2026 (sha256 " in sent  # JSON-escaped
    assert secret_path.encode() not in sent
    assert not AuditEvent.objects.filter(after__icontains="XyZsecret").exists()
    # Kept encrypted, as the signing secret is; read back whole for the delivery.
    kept = WebhookEndpoint.objects.get(format=PayloadFormat.CHAT, categories=["people"])
    assert b"XyZsecret" not in bytes(kept.url_encrypted) and kept.url.endswith(secret_path)
    assert kept.url_shown.startswith("https://hooks.slack.com/… (sha256 ")
