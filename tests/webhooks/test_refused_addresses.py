"""A webhook never goes to a link-local or metadata address, the unspecified address or a
multicast one: refused next to the URL when it is typed, and refused again as the portal
connects, with a failed attempt that says why."""

import time

import pytest

from nhiportal.webhooks.delivery import deliver_all
from nhiportal.webhooks.models import WebhookDelivery, WebhookEndpoint
from nhiportal.webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db
LIST = "/webhooks/"
API = "/api/v1/webhooks/"
METADATA = "http://169.254.169.254/latest/meta-data/iam/security-credentials/portal-role"


@pytest.mark.parametrize("url, says", [
    (METADATA, "169.254.169.254 is a link-local address; the portal never calls it."),
    ("http://[::ffff:169.254.169.254]/hooks", "::ffff:169.254.169.254 is a link-local address; the portal never calls it."),
    ("http://[fd00:ec2::254]/hooks", "fd00:ec2::254 is a cloud metadata address; the portal never calls it."),
    ("http://0.0.0.0:8080/hooks", "0.0.0.0 is the unspecified address; the portal never calls it."),
    ("https://239.255.255.250/hooks", "239.255.255.250 is a multicast address; the portal never calls it."),
])
def test_it_refuses_a_refused_address_next_to_the_url_on_the_page(client_for, sam, url, says):
    response = client_for(sam).post(f"{LIST}new/", {"url": url, "format": "standard", "enabled": "on"})
    assert response.status_code == 400 and response.context["form"].errors["url"] == [says]
    assert not WebhookEndpoint.objects.exists()


def test_it_refuses_changing_a_webhook_to_a_metadata_address(client_for, sam, receiver):
    endpoint, _ = endpoint_create(actor=sam, url=receiver.url)
    response = client_for(sam).post(f"{LIST}{endpoint.pk}/", {"url": METADATA, "format": "standard", "enabled": "on"})
    assert response.status_code == 400 and "link-local address" in response.context["form"].errors["url"][0]
    assert WebhookEndpoint.objects.get().url == receiver.url


def test_the_api_refuses_a_metadata_address_with_a_400_and_the_reason(client_for, sam, receiver):
    client = client_for(sam)
    refused = client.post(API, {"url": METADATA}, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json() == {"url": ["169.254.169.254 is a link-local address; the portal never calls it."]}
    assert not WebhookEndpoint.objects.exists()
    pk = client.post(API, {"url": receiver.url}, content_type="application/json").json()["id"]
    changed = client.put(f"{API}{pk}/", {"url": "http://[::ffff:169.254.169.254]/hooks"}, content_type="application/json")
    assert changed.status_code == 400 and "link-local address" in changed.json()["url"][0]
    assert WebhookEndpoint.objects.get().url == receiver.url


def _written_past_the_check(endpoint, url):
    # As a row from before this check, or written by hand, would be.
    endpoint.url = url
    endpoint.save()


def test_a_delivery_to_the_unspecified_address_is_refused_as_it_connects_and_never_arrives(receiver, sam, alice, make_identity):
    endpoint, _ = endpoint_create(actor=sam, url=receiver.url)
    port = receiver.url.split(":")[2].split("/")[0]
    # Connecting to 0.0.0.0 reaches this machine: without the check, the receiver would get it.
    _written_past_the_check(endpoint, f"http://0.0.0.0:{port}/hooks/nhi?token=s3cret")
    make_identity(alice)
    assert deliver_all()["failing"] == 1
    assert receiver.requests == []
    attempt = WebhookDelivery.objects.get(endpoint=endpoint)
    assert attempt.status_code is None
    assert attempt.error == "refused: 0.0.0.0 is the unspecified address, which the portal never calls"
    endpoint.refresh_from_db()
    assert endpoint.failures == 1 and endpoint.next_attempt_at is not None  # backed off like any failing receiver


def test_a_test_event_to_a_metadata_address_says_why_it_was_not_sent(client_for, sam, receiver):
    endpoint, _ = endpoint_create(actor=sam, url=receiver.url)
    _written_past_the_check(endpoint, METADATA)
    started = time.monotonic()
    page = client_for(sam).post(f"{LIST}{endpoint.pk}/test/", follow=True)
    assert time.monotonic() - started < 2  # refused, not waited on
    html = page.content.decode()
    assert page.status_code == 200
    assert "The test event was not delivered: refused: 169.254.169.254 is a link-local address, which the portal never calls." in html
    attempt = WebhookDelivery.objects.get(endpoint=endpoint)
    assert attempt.status_code is None and "security-credentials" not in attempt.error


def test_the_api_test_of_an_ipv4_mapped_metadata_address_records_the_refusal(client_for, sam, receiver):
    endpoint, _ = endpoint_create(actor=sam, url=receiver.url)
    _written_past_the_check(endpoint, "http://[::ffff:169.254.169.254]/latest/api/token")
    tested = client_for(sam).post(f"{API}{endpoint.pk}/test/")
    assert tested.status_code == 200 and tested.json()["succeeded"] is False
    assert tested.json()["error"] == "refused: ::ffff:169.254.169.254 is a link-local address, which the portal never calls"
