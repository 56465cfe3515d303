"""The webhook pages: security admins add, test, change, re-key and delete endpoints; nobody
else sees them."""

import re
from pathlib import Path

import pytest

from nhiportal.audit.models import AuditEvent
from nhiportal.webhooks.delivery import deliver_all
from nhiportal.webhooks.events import CATEGORIES, prefixes_of
from nhiportal.webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db
LIST = "/webhooks/"


def test_a_security_admin_adds_tests_changes_rekeys_and_deletes_a_webhook(client_for, sam, receiver):
    client = client_for(sam)
    assert b"No webhooks yet" in client.get(LIST).content
    page = client.post(f"{LIST}new/", {"url": receiver.url, "description": "SOC alerts", "categories": ["security"], "format": "standard", "enabled": "on"})
    assert page.status_code == 200 and page["Cache-Control"].startswith("max-age=0")
    secret = re.search(r"<code>(whsec_[^<]+)</code>", page.content.decode()).group(1)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.categories == ["security"] and secret.encode() not in bytes(endpoint.secret_encrypted)
    assert secret not in client.get(f"{LIST}{endpoint.pk}/").content.decode()  # shown once

    response = client.post(f"{LIST}{endpoint.pk}/test/", follow=True)
    assert "The receiver answered 204" in response.content.decode() and len(receiver.requests) == 1
    assert WebhookDelivery.objects.get().action == "webhook.test"
    receiver.status = 500
    response = client.post(f"{LIST}{endpoint.pk}/test/", follow=True)
    assert "was not delivered: answered 500" in response.content.decode()

    response = client.post(f"{LIST}{endpoint.pk}/", {"url": receiver.url, "description": "SOC", "categories": ["security", "people"], "format": "chat"})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.categories == ["people", "security"] and not endpoint.enabled  # the box was not ticked
    assert endpoint.format == "chat"

    rotated = client.post(f"{LIST}{endpoint.pk}/rotate-secret/").content.decode()
    new_secret = re.search(r"<code>(whsec_[^<]+)</code>", rotated).group(1)
    assert new_secret != secret

    assert client.post(f"{LIST}{endpoint.pk}/delete/", {"reason": "moved to the new SIEM"}).status_code == 302
    assert not WebhookEndpoint.objects.exists()
    actions = list(AuditEvent.objects.filter(action__startswith="webhook.").order_by("id").values_list("action", flat=True))
    assert actions == ["webhook.create", "webhook.update", "webhook.rotate_secret", "webhook.delete"]
    assert AuditEvent.objects.get(action="webhook.delete").reason == "moved to the new SIEM"
    # The secret is in no audit event.
    assert not AuditEvent.objects.filter(after__icontains="whsec_").exists()


@pytest.mark.parametrize("data, field", [
    ({"url": "not a url"}, "url"),
    ({"url": "ftp://files.example/hook", "format": "standard"}, "url"),
    ({"url": "https://siem.example/hook", "categories": ["everything"], "format": "standard"}, "categories"),
    ({"url": "https://siem.example/hook", "format": "carrier-pigeon"}, "format"),
])
def test_bad_input_is_refused_next_to_its_field(client_for, sam, data, field):
    response = client_for(sam).post(f"{LIST}new/", data)
    assert response.status_code == 400 and response.context["form"].errors[field]
    assert not WebhookEndpoint.objects.exists()


def test_nobody_but_a_security_admin_sees_or_changes_webhooks(client_for, sam, alice, rita, carol, charlie, receiver):
    from nhiportal.webhooks.services import endpoint_create

    endpoint, _ = endpoint_create(actor=sam, url=receiver.url)
    base = f"{LIST}{endpoint.pk}/"
    for person in (alice, rita, carol, charlie):
        client = client_for(person)
        for url in (LIST, f"{LIST}new/", base):
            response = client.get(url)
            assert response.status_code == 403 and receiver.url.encode() not in response.content, (person, url)
        for url in (base, f"{base}test/", f"{base}rotate-secret/", f"{base}delete/", f"{LIST}new/"):
            assert client.post(url, {"url": "https://evil.example", "reason": "x"}).status_code == 403, (person, url)
    assert receiver.requests == [] and WebhookEndpoint.objects.get().url == receiver.url
    assert client_for(sam).get(f"{LIST}999/").status_code == 404
    from django.test import Client
    assert Client().get(LIST)["Location"].startswith("/accounts/login/")


def test_every_kind_of_audit_event_belongs_to_a_category():
    root = Path(__file__).resolve().parents[2]
    actions = set()
    for folder in ("inventory", "tokens", "nhiportal"):
        for path in (root / folder).rglob("*.py"):
            actions |= set(re.findall(r'action=f?"([a-z_]+)[.{]', path.read_text()))
    actions.discard("webhook")  # about the webhooks themselves: sent to all-event endpoints only
    assert actions - prefixes_of(CATEGORIES) == set()


def test_a_webhook_added_with_send_events_unticked_is_created_off(client_for, sam, alice, make_identity, receiver):
    client = client_for(sam)
    assert client.get(f"{LIST}new/").context["form"]["enabled"].value() is True  # ticked unless unticked
    page = client.post(f"{LIST}new/", {"url": receiver.url, "description": "later", "format": "standard"})
    assert page.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert not endpoint.enabled and b"Off" in client.get(LIST).content
    assert AuditEvent.objects.filter(action="webhook.create").get().after["enabled"] is False
    make_identity(alice)
    deliver_all()
    assert receiver.requests == []


def test_a_leaked_personal_api_token_reaches_security_subscribers_and_people_subscribers():
    from nhiportal.webhooks.events import wanted

    assert wanted("api_token.exposed", ["security"]) and wanted("api_token.exposed", ["people"])
    assert not wanted("api_token.create", ["security"]) and wanted("api_token.create", ["people"])
    assert wanted("exposure.report", ["security"]) and not wanted("exposure.report", ["people"])
