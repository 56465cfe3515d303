"""A webhook's address as the portal shows it (its origin, password masked, and a fingerprint of
the rest) is at most 300 characters: one longer (a long user name) is refused next to the URL,
on the page and in the API; a long host that fits is taken, its audit event's name cut to what
the trail keeps. PostgreSQL answered both with a 500 (value too long)."""

import json

import pytest

from nhiportal.audit.models import AuditEvent
from nhiportal.webhooks.models import WebhookEndpoint
from nhiportal.webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db
LONG_USER = "https://" + "u" * 300 + ":secret-pw@example.com/hooks"
LONG_HOST = "https://" + ".".join(["a" * 60] * 4) + ".com:65535/hooks"


def test_an_address_too_long_to_show_is_refused_next_to_the_url_never_a_500(client_for, sam):
    client = client_for(sam)
    page = client.post("/webhooks/new/", {"url": LONG_USER, "format": "standard", "enabled": "on"})
    assert page.status_code == 400 and "too long" in page.context["form"].errors["url"][0]
    api = client.post("/api/v1/webhooks/", data=json.dumps({"url": LONG_USER}), content_type="application/json")
    assert api.status_code == 400 and "too long" in api.json()["url"][0]
    assert not WebhookEndpoint.objects.exists() and not AuditEvent.objects.filter(action__startswith="webhook.").exists()


def test_changing_a_webhook_to_an_address_too_long_to_show_is_refused(client_for, sam, receiver):
    endpoint, _ = endpoint_create(actor=sam, url=receiver.url)
    response = client_for(sam).post(f"/webhooks/{endpoint.pk}/", {"url": LONG_USER, "format": "standard", "enabled": "on"})
    assert response.status_code == 400 and "too long" in response.context["form"].errors["url"][0]
    assert WebhookEndpoint.objects.get().url == receiver.url


def test_a_long_host_that_fits_is_taken_and_its_event_named_within_the_trails_length(client_for, sam):
    response = client_for(sam).post("/api/v1/webhooks/", data=json.dumps({"url": LONG_HOST}), content_type="application/json")
    assert response.status_code == 201, response.content
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.url == LONG_HOST and len(endpoint.url_shown) <= 300
    assert AuditEvent.objects.get(action="webhook.create").object_repr == endpoint.url_shown[:200]
