"""A webhook URL may carry a user and password (http://svc:pw@host/x): delivery sends them as
Basic auth, and nothing else shows the password: not the pages, the API, the audit trail, its
export, the other receivers, nor a failed delivery's record. The edit form and the API show it
as ***, and a URL sent back with the mask keeps it, at the same address only."""

import base64
import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from nhiportal.audit.models import AuditEvent
from nhiportal.webhooks import delivery
from nhiportal.webhooks.delivery import deliver_all
from nhiportal.webhooks.models import WebhookDelivery, WebhookEndpoint
from nhiportal.webhooks.services import endpoint_create
from tests.webhooks.conftest import Receiver

pytestmark = pytest.mark.django_db
PASSWORD = "BASICPW42"
API = "/api/v1/webhooks/"


def with_password(url: str, userinfo: str = f"svc:{PASSWORD}") -> str:
    return url.replace("http://", f"http://{userinfo}@", 1)


@pytest.fixture
def basic():
    server = Receiver()
    yield server
    server.stop()


def everything_shown(client, endpoint) -> str:
    """Every page, export and API answer that names a webhook, as one text."""
    pages = [
        "/webhooks/", f"/webhooks/{endpoint.pk}/", "/audit/", "/audit/export.jsonl",
        API, f"{API}{endpoint.pk}/", "/api/v1/audit-events/",
    ]
    answers = [client.get(page) for page in pages]
    assert [answer.status_code for answer in answers] == [200] * len(pages)
    return "".join(
        (b"".join(answer.streaming_content) if answer.streaming else answer.content).decode() for answer in answers
    )


def test_a_password_in_the_url_is_sent_as_basic_auth_and_shown_nowhere_else(client_for, sam, alice, make_identity, receiver, basic):
    endpoint_create(actor=sam, url=receiver.url, description="SIEM")  # another receiver: gets the trail
    client = client_for(sam)
    created = client.post("/webhooks/new/", {"url": with_password(basic.url), "description": "Ticketing", "format": "standard", "enabled": "on"})
    assert created.status_code == 200 and PASSWORD not in created.content.decode()
    endpoint = WebhookEndpoint.objects.get(description="Ticketing")
    assert endpoint.url == with_password(basic.url)  # kept whole (encrypted) for delivery
    assert PASSWORD.encode() not in bytes(endpoint.url_encrypted)

    make_identity(alice)
    deliver_all()
    expected = "Basic " + base64.b64encode(f"svc:{PASSWORD}".encode()).decode()
    assert basic.requests and all(headers["authorization"] == expected for headers, _body in basic.requests)
    trail = b"".join(body for _headers, body in receiver.requests)
    assert b"webhook.create" in trail and PASSWORD.encode() not in trail

    shown = everything_shown(client, endpoint)
    assert "svc:***@127.0.0.1" in shown and PASSWORD not in shown
    event = AuditEvent.objects.get(action="webhook.create", object_id=str(endpoint.pk))
    assert event.object_repr.startswith("http://svc:***@127.0.0.1:") and event.after["url"] == event.object_repr
    assert not [e.pk for e in AuditEvent.objects.all() if PASSWORD in json.dumps([e.object_repr, e.before, e.after, e.reason])]
    assert client.get(API).json()["results"][1]["url"] == with_password(basic.url, "svc:***")
    assert client.get(f"/webhooks/{endpoint.pk}/").context["form"]["url"].value() == with_password(basic.url, "svc:***")


def test_a_user_name_alone_is_taken_for_a_token_and_masked_whole(client_for, sam, basic):
    endpoint, _secret = endpoint_create(actor=sam, url=with_password(basic.url, "ghp_TOKEN1234"))
    assert endpoint.url_shown.startswith("http://***@127.0.0.1:")
    assert "ghp_TOKEN1234" not in everything_shown(client_for(sam), endpoint)


def test_the_edit_form_keeps_the_password_behind_its_mask_and_a_new_one_is_audited_unseen(client_for, sam, basic):
    endpoint, _secret = endpoint_create(actor=sam, url=with_password(basic.url), description="Ticketing")
    client = client_for(sam)
    form = client.get(f"/webhooks/{endpoint.pk}/").context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() not in (None, False)}
    assert client.post(f"/webhooks/{endpoint.pk}/", data).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url == with_password(basic.url)
    assert not AuditEvent.objects.filter(action="webhook.update").exists()  # nothing changed

    data["url"] = data["url"].replace("/hooks/nhi", "/hooks/other")  # the path changes; the password stays
    assert client.post(f"/webhooks/{endpoint.pk}/", data).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url == with_password(basic.url).replace("/hooks/nhi", "/hooks/other")

    data["url"] = with_password(basic.url, "svc:NEWPW77")
    assert client.post(f"/webhooks/{endpoint.pk}/", data).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url == with_password(basic.url, "svc:NEWPW77")
    changed = AuditEvent.objects.filter(action="webhook.update").latest("id")
    assert (changed.before["password"], changed.after["password"]) == ("set", "changed")
    assert "NEWPW77" not in json.dumps([changed.object_repr, changed.before, changed.after])


def test_a_kept_password_goes_to_no_other_address(client_for, sam, basic):
    endpoint, _secret = endpoint_create(actor=sam, url=with_password(basic.url))
    client = client_for(sam)
    for url, says in (
        ("http://svc:***@hooks.example.com/x", "Type the password again"),
        (with_password(basic.url, "bob:***"), "type the password itself"),
    ):
        response = client.put(f"{API}{endpoint.pk}/", {"url": url}, content_type="application/json")
        assert response.status_code == 400 and says in response.json()["url"][0], url
    endpoint.refresh_from_db()
    assert endpoint.url == with_password(basic.url)
    kept = client.put(f"{API}{endpoint.pk}/", {"url": with_password(basic.url, "svc:***"), "description": "kept"}, content_type="application/json")
    assert kept.status_code == 200 and kept.json()["url"] == with_password(basic.url, "svc:***")
    endpoint.refresh_from_db()
    assert endpoint.url == with_password(basic.url) and endpoint.description == "kept"


def test_a_failed_delivery_records_no_password(sam):
    endpoint, _secret = endpoint_create(actor=sam, url="http://svc:BASICPW42@127.0.0.1:9/x")
    endpoint.url = "http://svc:BASICPW42@127.0.0.1:99999/x"  # a port requests refuses, quoting the URL
    _status, error, _ms = delivery.post(endpoint, "evt_1", {"type": "webhook.test"})
    assert error and PASSWORD not in error and "svc:***@" in error
    endpoint.url = "http://svc:BASICPW42@127.0.0.1:9/x"  # nothing listens: refused
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url_encrypted=endpoint.url_encrypted)
    tested = delivery.send_test(WebhookEndpoint.objects.get(pk=endpoint.pk))
    assert not tested.succeeded and PASSWORD not in tested.error
    assert not WebhookDelivery.objects.filter(error__contains=PASSWORD).exists()


@pytest.mark.django_db(transaction=True)
def test_upgrading_masks_the_password_in_the_urls_already_kept():
    executor = MigrationExecutor(connection)
    before = [("webhooks", "0003_url_encrypted")]
    executor.migrate(before)
    try:
        Old = executor.loader.project_state(before).apps.get_model("webhooks", "WebhookEndpoint")
        old = Old.objects.create(url_encrypted=b"x", url_shown="http://svc:BASICPW42@siem.example.com/… (sha256 0123456789ab)", secret_encrypted=b"x")
        plain = Old.objects.create(url_encrypted=b"x", url_shown="https://hooks.slack.com/… (sha256 0123456789ab)", secret_encrypted=b"x")
        executor = MigrationExecutor(connection)
        executor.migrate([("webhooks", "0004_url_shown_without_password")])
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert WebhookEndpoint.objects.get(pk=old.pk).url_shown == "http://svc:***@siem.example.com/… (sha256 0123456789ab)"
    assert WebhookEndpoint.objects.get(pk=plain.pk).url_shown == "https://hooks.slack.com/… (sha256 0123456789ab)"
