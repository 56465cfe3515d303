"""The audit log's request id is the portal's own: a client cannot file its events under the id
of someone else's request. Behind a trusted proxy (NHI_TRUST_REQUEST_ID) the proxy's id is kept,
so the audit log and the proxy's logs share one."""

import pytest
from django.urls import reverse

from inventory.services import identity_activate
from nhiportal.audit.models import AuditEvent

EVENTS = reverse("api:audit-event-list")
REGISTER = reverse("inventory:identity-register")
NEW_IDENTITY = {"name": "spoofer-bot", "kind": "agent", "purpose": "p", "environment": "staging", "autonomy": "supervised"}


@pytest.fixture
def trust_request_id(settings):
    def set_to(value: bool):
        settings.NHI = {**settings.NHI, "TRUST_REQUEST_ID": value}

    return set_to


def test_an_owner_cannot_file_events_under_a_security_admins_request_id(sam, alice, client_for, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice, name="leaky-bot"))
    admin = client_for(sam)
    suspended = admin.post(
        reverse("inventory:identity-suspend", args=[identity.pk]), {"version": identity.version, "reason": "leaked key"},
    )
    admins_request = suspended.headers["X-Request-ID"]
    assert AuditEvent.objects.filter(request_id=admins_request, action="identity.suspend").exists()

    # The owner sends the admin's request id along with a change of their own.
    registered = client_for(alice).post(REGISTER, NEW_IDENTITY, HTTP_X_REQUEST_ID=admins_request)
    assert registered.status_code == 302
    assert registered.headers["X-Request-ID"] != admins_request
    assert AuditEvent.objects.get(action="identity.register", object_repr="spoofer-bot").request_id == registered.headers["X-Request-ID"]

    # The admin's request still lists only what the admin did.
    listed = admin.get(EVENTS, {"request_id": admins_request}).json()["results"]
    assert listed and {event["actor_label"] for event in listed} == {"sam"}


def test_the_inbound_request_id_is_kept_only_when_the_proxy_is_trusted(alice, client_for, trust_request_id):
    client = client_for(alice)
    response = client.get("/", HTTP_X_REQUEST_ID="proxy-7f3a.1")
    assert response.headers["X-Request-ID"] != "proxy-7f3a.1"  # off by default

    trust_request_id(True)
    assert client.get("/", HTTP_X_REQUEST_ID="proxy-7f3a.1").headers["X-Request-ID"] == "proxy-7f3a.1"
    response = client.post(REGISTER, NEW_IDENTITY, HTTP_X_REQUEST_ID="proxy-7f3a.2")
    assert AuditEvent.objects.get(action="identity.register").request_id == "proxy-7f3a.2"
    # Even from a trusted proxy, an id the audit log cannot hold as it is is replaced.
    assert client.get("/", HTTP_X_REQUEST_ID="a b<c>" * 20).headers["X-Request-ID"] != "a b<c>" * 20
