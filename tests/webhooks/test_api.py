"""The webhooks API: security admins only, the same services and secrets-once rule as the pages."""

import pytest

from nhiportal.audit.models import AuditEvent
from nhiportal.webhooks.delivery import deliver_all
from nhiportal.webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db
API = "/api/v1/webhooks/"


def test_a_security_admin_manages_webhooks_through_the_api(client_for, sam, receiver):
    client = client_for(sam)
    created = client.post(API, {"url": receiver.url, "categories": ["security"], "description": "SOC"}, content_type="application/json")
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    pk = created.json()["id"]
    listed = client.get(API).json()
    assert [e["url"] for e in listed["results"]] == [receiver.url] and "secret" not in listed["results"][0]
    tested = client.post(f"{API}{pk}/test/").json()
    assert tested["succeeded"] is True and tested["action"] == "webhook.test"
    detail = client.get(f"{API}{pk}/").json()
    assert detail["recent_deliveries"][0]["status_code"] == 204 and "secret" not in detail
    updated = client.put(f"{API}{pk}/", {"url": receiver.url, "categories": [], "enabled": False}, content_type="application/json")
    assert updated.status_code == 200 and updated.json()["enabled"] is False and updated.json()["categories"] == []
    rotated = client.post(f"{API}{pk}/rotate-secret/").json()
    assert rotated["secret"] != created.json()["secret"]
    assert client.delete(f"{API}{pk}/", {"reason": "done"}, content_type="application/json").status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert AuditEvent.objects.filter(action__startswith="webhook.").count() == 4


def test_bad_input_is_a_400_with_the_field(client_for, sam):
    response = client_for(sam).post(API, {"url": "nope", "categories": ["all-the-things"]}, content_type="application/json")
    assert response.status_code == 400 and set(response.json()) == {"url", "categories"}
    for url in ("http://exa mple.com/hook", "https://[::1/hook", "http:///hook"):
        response = client_for(sam).post(API, {"url": url}, content_type="application/json")
        assert response.status_code == 400 and "url" in response.json(), url
    assert not WebhookEndpoint.objects.exists()


def test_everyone_else_gets_403_and_learns_nothing(client_for, sam, alice, rita, carol, charlie, receiver):
    client_for(sam).post(API, {"url": receiver.url}, content_type="application/json")
    pk = WebhookEndpoint.objects.get().pk
    for person in (alice, rita, carol, charlie):
        client = client_for(person)
        for response in (client.get(API), client.get(f"{API}{pk}/"), client.post(f"{API}{pk}/test/"),
                         client.post(f"{API}{pk}/rotate-secret/"), client.delete(f"{API}{pk}/"),
                         client.post(API, {"url": "https://evil.example"}, content_type="application/json")):
            assert response.status_code == 403 and receiver.url not in response.content.decode()
    assert receiver.requests == [] and WebhookEndpoint.objects.count() == 1


def test_a_webhook_created_disabled_stays_off_and_the_create_event_says_so(client_for, sam, alice, make_identity, receiver):
    created = client_for(sam).post(API, {"url": receiver.url, "enabled": False}, content_type="application/json")
    assert created.status_code == 201 and created.json()["enabled"] is False
    endpoint = WebhookEndpoint.objects.get()
    assert not endpoint.enabled
    assert AuditEvent.objects.get(action="webhook.create").after["enabled"] is False
    make_identity(alice)
    deliver_all()
    assert receiver.requests == []
