"""An endpoint's deliveries for security admins: every attempt, filtered by outcome and kind of
event; one attempt with its event, answers and payload; a failed event redelivered. Nobody else
sees any of it."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from nhiportal.webhooks.delivery import deliver_all, send_test
from nhiportal.webhooks.models import WebhookDelivery, WebhookEndpoint
from nhiportal.webhooks.services import endpoint_create, endpoint_update

pytestmark = pytest.mark.django_db


def _due(endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def _rows(response) -> list[WebhookDelivery]:
    return list(response.context["page_obj"].object_list)


def test_it_lists_every_attempt_newest_first_and_filters_by_outcome_and_kind(client_for, sam, failed):
    endpoint, _secret, first_try = failed
    _due(endpoint)
    deliver_all()
    test = send_test(endpoint)
    client = client_for(sam)
    page = client.get(f"/webhooks/{endpoint.pk}/")
    assert f'href="/webhooks/{endpoint.pk}/deliveries/"'.encode() in page.content and b"All deliveries" in page.content

    everything = client.get(f"/webhooks/{endpoint.pk}/deliveries/")
    assert everything.status_code == 200
    rows = _rows(everything)
    assert rows[0] == test and rows[-1] == first_try and len(rows) == WebhookDelivery.objects.count()
    assert b"badge-fail" in everything.content and b"badge-ok" in everything.content

    assert _rows(client.get(f"/webhooks/{endpoint.pk}/deliveries/", {"outcome": "failed"})) == [first_try]
    delivered = _rows(client.get(f"/webhooks/{endpoint.pk}/deliveries/", {"outcome": "delivered"}))
    assert first_try not in delivered and test in delivered and all(d.succeeded for d in delivered)
    identities = _rows(client.get(f"/webhooks/{endpoint.pk}/deliveries/", {"category": "identities"}))
    assert first_try in identities and test not in identities and all(d.action.startswith("identity.") for d in identities)
    both = _rows(client.get(f"/webhooks/{endpoint.pk}/deliveries/", {"category": "identities", "outcome": "failed"}))
    assert both == [first_try]
    none = client.get(f"/webhooks/{endpoint.pk}/deliveries/", {"category": "records"})
    assert none.status_code == 200 and b"No deliveries match this filter" in none.content


def test_it_pages_the_deliveries_like_the_other_lists(client_for, sam, receiver):
    endpoint, _ = endpoint_create(actor=sam, url=receiver.url)
    start = timezone.now()
    WebhookDelivery.objects.bulk_create([
        WebhookDelivery(endpoint=endpoint, event_id=n, action="identity.register", status_code=204, attempted_at=start + timedelta(seconds=n))
        for n in range(1, 31)
    ])
    client = client_for(sam)
    first = client.get(f"/webhooks/{endpoint.pk}/deliveries/", {"outcome": "delivered"})
    assert [d.event_id for d in _rows(first)] == list(range(30, 5, -1)) and b'rel="next"' in first.content
    assert b"outcome=delivered&amp;page=2" in first.content  # the filter stays in the link
    second = client.get(f"/webhooks/{endpoint.pk}/deliveries/", {"outcome": "delivered", "page": 2})
    assert [d.event_id for d in _rows(second)] == [5, 4, 3, 2, 1]


def test_a_webhook_that_sent_nothing_says_so(client_for, sam, receiver):
    endpoint, _ = endpoint_create(actor=sam, url=receiver.url)
    response = client_for(sam).get(f"/webhooks/{endpoint.pk}/deliveries/")
    assert response.status_code == 200 and b"Nothing sent yet" in response.content


@pytest.mark.parametrize("query, field", [({"outcome": "lost"}, "outcome"), ({"category": "everything"}, "category")])
def test_an_unknown_filter_value_is_refused_next_to_its_field(client_for, sam, failed, query, field):
    endpoint = failed[0]
    response = client_for(sam).get(f"/webhooks/{endpoint.pk}/deliveries/", query)
    assert response.status_code == 400 and response.context["filter"].form.errors[field]
    assert _rows(response) == [] and b"Some filters are not valid" in response.content


def test_odd_addresses_are_404s_not_500s(client_for, sam, failed, receiver):
    endpoint, _secret, delivery = failed
    other, _ = endpoint_create(actor=sam, url=receiver.url.replace("/nhi", "/other"))
    client = client_for(sam)
    for url in ("/webhooks/abc/deliveries/", f"/webhooks/{endpoint.pk}/deliveries/abc/", f"/webhooks/{other.pk}/deliveries/{delivery.pk}/",
                f"/webhooks/{endpoint.pk}/deliveries/999999/", "/webhooks/999999/deliveries/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/webhooks/{other.pk}/deliveries/{delivery.pk}/redeliver/").status_code == 404
    assert client.get(f"/webhooks/{endpoint.pk}/deliveries/", {"page": "last-but-one"}).status_code == 200


def test_a_delivery_shows_its_event_answer_timing_error_attempts_and_payload_but_no_secret(client_for, sam, alice, make_identity, receiver):
    url = receiver.url.replace("http://", "http://svc:hunter2-password@")
    endpoint, secret = endpoint_create(actor=sam, url=url)
    receiver.status = 500
    make_identity(alice, name="billing-bot")
    deliver_all()
    delivery = WebhookDelivery.objects.get()
    page = client_for(sam).get(f"/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and "answered 500" in html and f"{delivery.duration_ms} ms" in html
    assert f"event #{delivery.event_id}" in html and delivery.action in html
    assert "&quot;object_repr&quot;: &quot;billing-bot&quot;" in html  # the audit record, as sent
    assert f"evt_{delivery.event_id}" in html and "(this one)" in html
    assert "Redeliver" in html
    assert secret not in html and "whsec_" not in html and "hunter2-password" not in html
    sent = receiver.requests[0][1].decode()
    assert '"object_repr":"billing-bot"' in sent


def test_a_chat_delivery_shows_the_line_the_channel_got(client_for, sam, alice, make_identity, receiver):
    endpoint, _ = endpoint_create(actor=sam, url=receiver.url, format="chat", categories=["identities"])
    make_identity(alice, name="billing-bot")
    deliver_all()
    delivery = WebhookDelivery.objects.filter(action="identity.register").first()
    html = client_for(sam).get(f"/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/").content.decode()
    assert "&quot;text&quot;: &quot;NHI Portal: alice" in html and "billing-bot" in html
    assert "Redeliver</button>" not in html  # delivered


def test_redeliver_queues_the_failed_event_and_the_next_sweep_sends_it(client_for, sam, failed, receiver):
    endpoint, secret, delivery = failed
    assert endpoint.next_attempt_at > timezone.now()  # backing off
    client = client_for(sam)
    response = client.post(f"/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver/", follow=True)
    assert f"Queued: the next sweep sends event #{delivery.event_id}" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.next_attempt_at <= timezone.now() and endpoint.failures == 1  # due, the count kept
    event = AuditEvent.objects.get(action="webhook.redeliver")
    assert event.actor_label == "sam" and event.after["event"] == delivery.event_id and event.object_id == str(endpoint.pk)

    sent_before = len(receiver.requests)
    deliver_all()
    headers, _body = receiver.requests[sent_before]
    assert headers["webhook-id"] == f"evt_{delivery.event_id}"  # the same event, the same id
    again = WebhookDelivery.objects.filter(event_id=delivery.event_id, status_code=204).get()
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.cursor > delivery.event_id  # the queue moved on

    # Delivered now: a second redelivery is refused, and says where it went.
    page = client.get(f"/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/").content.decode()
    assert f"/webhooks/{endpoint.pk}/deliveries/{again.pk}/" in page and "Redeliver</button>" not in page
    response = client.post(f"/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver/", follow=True)
    assert f"A later try delivered event #{delivery.event_id}" in response.content.decode()
    assert AuditEvent.objects.filter(action="webhook.redeliver").count() == 1


def test_redelivery_to_a_webhook_that_is_off_is_refused(client_for, sam, failed, receiver):
    endpoint, _secret, delivery = failed
    endpoint_update(actor=sam, endpoint=endpoint, url=receiver.url, description="", categories=[], enabled=False)
    response = client_for(sam).post(f"/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver/", follow=True)
    assert "The webhook is off" in response.content.decode()
    assert not AuditEvent.objects.filter(action="webhook.redeliver").exists()


def test_a_deleted_webhooks_deliveries_are_gone(client_for, sam, failed):
    from nhiportal.webhooks.services import endpoint_delete

    endpoint, _secret, delivery = failed
    endpoint_delete(actor=sam, endpoint=endpoint)
    client = client_for(sam)
    assert client.get(f"/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/").status_code == 404
    assert client.post(f"/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver/").status_code == 404
    assert not AuditEvent.objects.filter(action="webhook.redeliver").exists()


def test_what_cannot_be_redelivered_is_refused_with_its_reason(client_for, sam, failed, receiver):
    endpoint, _secret, delivery = failed
    client = client_for(sam)

    def refusal(d):
        response = client.post(f"/webhooks/{endpoint.pk}/deliveries/{d.pk}/redeliver/", follow=True)
        assert response.status_code == 200
        return response.content.decode()

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(leased_until=timezone.now() + timedelta(minutes=1))
    assert "sending to this webhook right now" in refusal(delivery)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(leased_until=None)
    _due(endpoint)
    assert f"Event #{delivery.event_id} is queued already" in refusal(delivery)
    receiver.status = 500
    assert "A test event is not redelivered" in refusal(send_test(endpoint))
    receiver.status = 204
    assert "The receiver accepted this event" in refusal(send_test(endpoint))
    endpoint_update(actor=sam, endpoint=endpoint, url=receiver.url, description="", categories=["security"], enabled=True)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert "no longer takes this kind of event" in refusal(delivery)
    assert not AuditEvent.objects.filter(action="webhook.redeliver").exists()
    endpoint.refresh_from_db()
    assert endpoint.next_attempt_at > timezone.now()


def test_redeliver_takes_only_a_post(client_for, sam, failed):
    endpoint, _secret, delivery = failed
    assert client_for(sam).get(f"/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver/").status_code == 405


def test_nobody_but_a_security_admin_sees_deliveries_or_redelivers(client_for, sam, alice, rita, carol, charlie, failed, receiver):
    endpoint, _secret, delivery = failed
    base = f"/webhooks/{endpoint.pk}/deliveries/"
    pages = (base, f"{base}?outcome=failed", f"{base}{delivery.pk}/", "/webhooks/999999/deliveries/", f"{base}999999/")
    for person in (alice, rita, carol, charlie):
        client = client_for(person)
        for url in pages:
            response = client.get(url)
            # 403 whether the webhook or delivery exists or not: nothing is learnt.
            assert response.status_code == 403 and b"127.0.0.1" not in response.content and b"billing-bot" not in response.content, (person, url)
        assert client.post(f"{base}{delivery.pk}/redeliver/").status_code == 403
        assert client.post("/webhooks/999999/deliveries/1/redeliver/").status_code == 403
    anonymous = Client()
    for url in pages:
        assert anonymous.get(url)["Location"].startswith("/accounts/login/"), url
    assert anonymous.post(f"{base}{delivery.pk}/redeliver/")["Location"].startswith("/accounts/login/")
    assert not AuditEvent.objects.filter(action="webhook.redeliver").exists()
    assert WebhookEndpoint.objects.get().next_attempt_at == endpoint.next_attempt_at


def test_the_endpoint_page_says_when_the_waiting_event_is_tried_again(client_for, sam, failed):
    """In its back-off: when. Once the back-off is over: the next sweep, not "a minute ago"."""
    endpoint, _secret, _delivery = failed
    page = client_for(sam).get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert "the next try is" in page and "from now" in page and "the next sweep tries again" not in page
    _due(endpoint)
    page = client_for(sam).get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert "the next sweep tries again" in page and "the next try is" not in page
