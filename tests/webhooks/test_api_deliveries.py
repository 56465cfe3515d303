"""The webhooks API's deliveries: the list with the pages' filters, one delivery, a redelivery;
security admins only, and a schema that describes them."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import include, path
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from nhiportal.audit.models import AuditEvent
from nhiportal.webhooks.delivery import deliver_all, send_test
from nhiportal.webhooks.models import WebhookDelivery, WebhookEndpoint
from nhiportal.webhooks.services import endpoint_update

pytestmark = pytest.mark.django_db
API = "/api/v1/webhooks/"


def test_a_security_admin_lists_filters_reads_and_redelivers_through_the_api(client_for, sam, failed, receiver):
    endpoint, secret, delivery = failed
    test = send_test(endpoint)
    client = client_for(sam)
    listed = client.get(f"{API}{endpoint.pk}/deliveries/").json()
    assert [d["id"] for d in listed["results"]] == [test.pk, delivery.pk] and listed["count"] == 2
    assert [d["id"] for d in client.get(f"{API}{endpoint.pk}/deliveries/", {"outcome": "failed"}).json()["results"]] == [delivery.pk]
    assert [d["id"] for d in client.get(f"{API}{endpoint.pk}/deliveries/", {"outcome": "delivered"}).json()["results"]] == [test.pk]
    assert [d["id"] for d in client.get(f"{API}{endpoint.pk}/deliveries/", {"category": "identities"}).json()["results"]] == [delivery.pk]
    assert client.get(f"{API}{endpoint.pk}/deliveries/", {"category": "policy"}).json()["results"] == []

    one = client.get(f"{API}{endpoint.pk}/deliveries/{delivery.pk}/")
    assert one.status_code == 200
    body = one.json()
    assert body["status_code"] == 503 and body["error"] == "answered 503" and body["succeeded"] is False
    assert body["payload"]["type"] == delivery.action and body["payload"]["data"]["id"] == delivery.event_id
    assert body["payload"]["data"]["object_repr"] == "billing-bot"
    assert [a["id"] for a in body["attempts"]] == [delivery.pk] and body["delivered_later"] is None
    assert body["redeliverable"] is True and body["redelivery_refusal"] == ""
    assert secret not in one.content.decode() and "whsec_" not in one.content.decode()
    assert client.get(f"{API}{endpoint.pk}/deliveries/{test.pk}/").json()["payload"] is None

    queued = client.post(f"{API}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/")
    assert queued.status_code == 202 and queued.json()["event_id"] == delivery.event_id
    assert AuditEvent.objects.filter(action="webhook.redeliver").count() == 1
    again = client.post(f"{API}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/")
    assert again.status_code == 409 and "queued already" in again.json()["detail"]
    deliver_all()
    after = client.get(f"{API}{endpoint.pk}/deliveries/{delivery.pk}/").json()
    assert after["delivered_later"] and after["redeliverable"] is False and "later try delivered" in after["redelivery_refusal"]
    assert [a["succeeded"] for a in after["attempts"]] == [True, False]
    assert AuditEvent.objects.filter(action="webhook.redeliver").count() == 1


@pytest.mark.parametrize("query, name", [
    ({"outcome": "pending"}, "outcome"), ({"category": "webhooks"}, "category"), ({"outcome": ""}, "outcome"), ({"page": "x"}, "page"),
])
def test_a_filter_value_it_does_not_know_is_a_400_naming_it(client_for, sam, failed, query, name):
    response = client_for(sam).get(f"{API}{failed[0].pk}/deliveries/", query)
    assert response.status_code == 400 and name in response.json()


def test_refusals_are_409s_with_the_reason(client_for, sam, failed, receiver):
    endpoint, _secret, delivery = failed
    client = client_for(sam)

    def refused(d):
        response = client.post(f"{API}{endpoint.pk}/deliveries/{d.pk}/redeliver/")
        assert response.status_code == 409
        return response.json()["detail"]

    assert "A test event is not redelivered" in refused(WebhookDelivery.objects.create(endpoint=endpoint, event_id=0, action="webhook.test", error="x"))
    portal = WebhookDelivery.objects.create(endpoint=endpoint, event_id=0, action="webhook.send", error="the portal could not send: KeyError")
    assert "carried no event" in refused(portal)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(cursor=delivery.event_id)
    assert "no longer waits" in refused(delivery)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(cursor=delivery.event_id - 1)
    endpoint_update(actor=sam, endpoint=endpoint, url=receiver.url, description="", categories=[], enabled=False)
    assert "The webhook is off" in refused(delivery)
    assert not AuditEvent.objects.filter(action="webhook.redeliver").exists()


def test_odd_ids_are_404s(client_for, sam, failed):
    endpoint, _secret, delivery = failed
    client = client_for(sam)
    for url in (f"{API}{endpoint.pk}/deliveries/abc/", f"{API}abc/deliveries/", f"{API}{endpoint.pk}/deliveries/999999/",
                f"{API}999999/deliveries/", f"{API}999999/deliveries/{delivery.pk}/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"{API}{endpoint.pk}/deliveries/999999/redeliver/").status_code == 404


def test_everyone_else_gets_403_and_learns_nothing(client_for, alice, rita, carol, charlie, failed):
    endpoint, _secret, delivery = failed
    base = f"{API}{endpoint.pk}/deliveries/"
    for person in (alice, rita, carol, charlie):
        client = client_for(person)
        for response in (client.get(base), client.get(f"{base}{delivery.pk}/"), client.get(f"{API}999999/deliveries/"),
                         client.get(f"{base}?outcome=nonsense"), client.post(f"{base}{delivery.pk}/redeliver/"),
                         client.post(f"{API}999999/deliveries/1/redeliver/")):
            assert response.status_code == 403 and "billing-bot" not in response.content.decode() and "127.0.0.1" not in response.content.decode()
    for response in (Client().get(base), Client().get(f"{base}{delivery.pk}/"), Client().post(f"{base}{delivery.pk}/redeliver/")):
        assert response.status_code in (401, 403)
    assert not AuditEvent.objects.filter(action="webhook.redeliver").exists()
    endpoint_now = WebhookEndpoint.objects.get()
    assert endpoint_now.next_attempt_at == endpoint.next_attempt_at and endpoint_now.next_attempt_at > timezone.now() - timedelta(seconds=1)


def test_the_deliveries_are_in_a_valid_schema_generated_without_warnings(db, client):
    ours = [path("api/v1/", include("nhiportal.webhooks.api_urls"))]
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator(patterns=ours).get_schema(request=None, public=True)
    assert dict(GENERATOR_STATS._warn_cache) == {} and dict(GENERATOR_STATS._error_cache) == {}
    schema = json.loads(client.get("/api/schema/", {"format": "json"}).content)
    validate_schema(schema)
    paths = schema["paths"]
    assert set(paths["/api/v1/webhooks/{id}/deliveries/"]) == {"get"}
    assert {p["name"] for p in paths["/api/v1/webhooks/{id}/deliveries/"]["get"]["parameters"]} >= {"outcome", "category", "page"}
    assert set(paths["/api/v1/webhooks/{id}/deliveries/{delivery_pk}/"]) == {"get"}
    redeliver = paths["/api/v1/webhooks/{id}/deliveries/{delivery_pk}/redeliver/"]["post"]
    assert {"202", "409"} <= set(redeliver["responses"])
    detail = schema["components"]["schemas"]["DeliveryDetail"]["properties"]
    assert detail["attempts"]["items"]["$ref"].endswith("/Delivery")
