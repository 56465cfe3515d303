"""Trust domains kept current from their SPIFFE bundle endpoint: a bundle server on loopback
rotates its keys, and the agents' JWT-SVIDs go on working without anyone pasting a bundle."""

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from tokens.models import TrustDomain
from tokens.services import trust_domain_create, trust_domain_update
from tokens.trust_bundles import bundle_refresh, trust_bundles_refresh

from .conftest import new_private_key, public_jwk
from .json_server import JsonServer
from .test_spiffe import request_with, svid, svid_agent  # noqa: F401  (svid_agent: a fixture, on this module's trust_domain)


class BundleServer(JsonServer):
    """A SPIFFE bundle endpoint on loopback: serves `bundle` (or `status` with garbage)."""

    def __init__(self):
        super().__init__()
        self.url = f"{self.origin}/"

    @property
    def bundle(self):
        return self.documents.get("/")

    @bundle.setter
    def bundle(self, value):
        self.documents["/"] = value

    def serve(self, *keys, hint=None):
        self.bundle = {"keys": [public_jwk(key, kid=kid, use="jwt-svid") for kid, key in keys]}
        if hint is not None:
            self.bundle["spiffe_refresh_hint"] = hint
        self.bundle["spiffe_sequence"] = 1


@pytest.fixture
def bundle_server():
    server = BundleServer()
    yield server
    server.stop()


@pytest.fixture
def first_key():
    return new_private_key()


@pytest.fixture
def trust_domain(sam, bundle_server, first_key):
    bundle_server.serve(("k1", first_key), hint=600)
    return trust_domain_create(actor=sam, name="prod.example.com", bundle_endpoint=bundle_server.url)


def sweep():
    call_command("governance_sweep", "--step", "refresh_trust_bundles", stdout=open("/dev/null", "w"), stderr=open("/dev/null", "w"))


def test_a_trust_domain_registered_by_its_endpoint_takes_the_bundle_it_serves(trust_domain, bundle_server):
    assert [k["kid"] for k in trust_domain.jwks["keys"]] == ["k1"]
    assert trust_domain.refresh_hint == 600 and trust_domain.bundle_fetched_at is not None and trust_domain.bundle_error == ""
    event = AuditEvent.objects.get(action="trust_domain.create")
    assert event.after == {"name": "prod.example.com", "kids": ["k1"], "bundle_endpoint": bundle_server.url}


def test_a_key_rotation_at_the_trust_domain_reaches_the_portal_on_the_next_due_sweep(oauth, svid_agent, trust_domain, bundle_server, first_key):
    assert request_with(oauth, svid(first_key, kid="k1", jti=uuid.uuid4().hex)).status_code == 200
    second_key = new_private_key()
    bundle_server.serve(("k2", second_key), hint=600)

    sweep()  # not due: the bundle asked for ten minutes
    assert request_with(oauth, svid(second_key, kid="k2", jti=uuid.uuid4().hex)).status_code == 401

    TrustDomain.objects.filter(pk=trust_domain.pk).update(bundle_fetched_at=timezone.now() - timedelta(minutes=11))
    sweep()
    assert request_with(oauth, svid(second_key, kid="k2", jti=uuid.uuid4().hex)).status_code == 200
    assert request_with(oauth, svid(first_key, kid="k1", jti=uuid.uuid4().hex)).status_code == 401  # gone from the bundle
    event = AuditEvent.objects.get(action="trust_domain.bundle_refresh")
    assert event.before == {"kids": ["k1"]} and event.after == {"kids": ["k2"], "bundle_endpoint": bundle_server.url}
    assert event.actor_label == "system:refresh_trust_bundles"


def test_an_unchanged_bundle_writes_nothing_but_the_fetch_time(sam, trust_domain, bundle_server):
    events = AuditEvent.objects.count()
    assert bundle_refresh(actor=sam, holder=trust_domain) == "unchanged"
    assert AuditEvent.objects.count() == events


def test_an_endpoint_that_fails_keeps_the_keys_says_why_and_is_tried_every_sweep(oauth, sam, svid_agent, trust_domain, bundle_server, first_key):
    bundle_server.status = 503
    assert bundle_refresh(actor=sam, holder=trust_domain) == "failed"
    trust_domain.refresh_from_db()
    assert trust_domain.bundle_error == "The bundle endpoint could not be fetched: it answered HTTP 503."
    assert [k["kid"] for k in trust_domain.jwks["keys"]] == ["k1"]
    assert request_with(oauth, svid(first_key, kid="k1", jti=uuid.uuid4().hex)).status_code == 200
    assert trust_bundles_refresh(actor=sam) == {"changed": 0, "unchanged": 0, "failed": 1}  # due again at once
    assert AuditEvent.objects.filter(action="trust_domain.bundle_refresh_failed").count() == 1  # told once

    bundle_server.status, bundle_server.bundle = 200, {"keys": [{"kty": "EC", "kid": "x", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"}]}
    assert bundle_refresh(actor=sam, holder=trust_domain) == "failed"
    trust_domain.refresh_from_db()
    assert "not a usable bundle" in trust_domain.bundle_error

    bundle_server.serve(("k1", first_key))
    assert bundle_refresh(actor=sam, holder=trust_domain) == "unchanged"
    trust_domain.refresh_from_db()
    assert trust_domain.bundle_error == "" and trust_domain.refresh_hint is None


def test_a_failing_bundle_makes_the_sweep_step_fail_visibly(sam, trust_domain, bundle_server):
    from nhiportal.sweep.models import SweepStep

    bundle_server.status = 500
    TrustDomain.objects.filter(pk=trust_domain.pk).update(bundle_fetched_at=None)
    with pytest.raises(CommandError, match="refresh_trust_bundles"):
        sweep()
    step = SweepStep.objects.get(name="refresh_trust_bundles")
    assert step.succeeded is False and "1 failed" in step.output


def test_only_https_or_this_machine_is_an_endpoint(sam, db):
    for url in ("http://spire.example.com/", "ftp://127.0.0.1/", "file:///etc/passwd"):
        with pytest.raises(ValidationError) as refused:
            trust_domain_create(actor=sam, name="bad.example.com", bundle_endpoint=url)
        assert "https://" in str(refused.value.message_dict["bundle_endpoint"])
    with pytest.raises(ValidationError) as refused:
        trust_domain_create(actor=sam, name="bad.example.com", bundle_endpoint="https://127.0.0.1:1/")
    assert "could not be fetched" in refused.value.message_dict["bundle_endpoint"][0]
    assert not TrustDomain.objects.exists()
    with pytest.raises(ValidationError) as refused:
        trust_domain_create(actor=sam, name="bad.example.com")
    assert "bundle endpoint" in refused.value.message_dict["jwks"][0]


def test_a_pasted_bundle_with_an_endpoint_is_fetched_on_the_next_sweep(sam, bundle_server, first_key):
    pasted = new_private_key()
    bundle_server.serve(("k1", first_key))
    domain = trust_domain_create(actor=sam, name="prod.example.com", jwks={"keys": [public_jwk(pasted, kid="pasted")]},
                                 bundle_endpoint=bundle_server.url)
    assert domain.bundle_fetched_at is None
    sweep()
    domain.refresh_from_db()
    assert [k["kid"] for k in domain.jwks["keys"]] == ["k1"]


def test_moving_to_an_endpoint_fetches_it_and_leaving_it_stops_the_fetches(sam, bundle_server, first_key):
    domain = trust_domain_create(actor=sam, name="prod.example.com", jwks={"keys": [public_jwk(new_private_key(), kid="pasted")]})
    bundle_server.serve(("k1", first_key))
    domain = trust_domain_update(actor=sam, trust_domain=domain, bundle_endpoint=bundle_server.url)
    assert [k["kid"] for k in domain.jwks["keys"]] == ["k1"] and domain.bundle_fetched_at is not None
    event = AuditEvent.objects.filter(action="trust_domain.update").latest("id")
    assert event.after == {"kids": ["k1"], "bundle_endpoint": bundle_server.url}
    domain = trust_domain_update(actor=sam, trust_domain=domain, bundle_endpoint="")
    fetches = bundle_server.fetches
    TrustDomain.objects.filter(pk=domain.pk).update(bundle_fetched_at=None)
    assert trust_bundles_refresh(actor=sam) == {"changed": 0, "unchanged": 0, "failed": 0}
    assert bundle_server.fetches == fetches


# Pages and API


def test_a_security_admin_registers_by_endpoint_and_fetches_now_on_the_pages(client_for, sam, bundle_server, first_key):
    bundle_server.serve(("k1", first_key))
    client = client_for(sam)
    response = client.post("/trust-domains/new/", {"name": "prod.example.com", "bundle_endpoint": bundle_server.url, "jwks": ""})
    assert response.status_code == 302
    domain = TrustDomain.objects.get()
    page = client.get("/trust-domains/").content.decode()
    assert bundle_server.url in page and "Fetch now" in page and "badge-ok" in page
    second = new_private_key()
    bundle_server.serve(("k2", second))
    fetched = client.post(f"/trust-domains/{domain.pk}/refresh/", follow=True)
    assert "Fetched the bundle of prod.example.com: new keys." in fetched.content.decode()
    bundle_server.status = 503
    failed = client.post(f"/trust-domains/{domain.pk}/refresh/", follow=True).content.decode()
    assert "could not be fetched" in failed and "badge-bad" in failed
    refused = client.post("/trust-domains/new/", {"name": "other.example.com", "bundle_endpoint": "http://spire.example.com/", "jwks": ""})
    assert refused.status_code == 400 and b"Give the bundle endpoint" in refused.content


@pytest.mark.parametrize("person", ["alice", "rita", "carol", "charlie"])
def test_an_outsider_cannot_fetch_a_bundle(request, client_for, person, trust_domain, bundle_server):
    fetches = bundle_server.fetches
    client = client_for(request.getfixturevalue(person))
    assert client.post(f"/trust-domains/{trust_domain.pk}/refresh/").status_code in (403, 404)
    assert client.post(f"/api/v1/trust-domains/{trust_domain.pk}/refresh/").status_code in (403, 404)
    assert bundle_server.fetches == fetches


def test_the_api_registers_by_endpoint_and_refreshes(client_for, sam, bundle_server, first_key):
    bundle_server.serve(("k1", first_key), hint=120)
    client = client_for(sam)
    created = client.post("/api/v1/trust-domains/", {"name": "prod.example.com", "bundle_endpoint": bundle_server.url}, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["refresh_hint"] == 120 and body["bundle_error"] == "" and body["jwks"]["keys"][0]["kid"] == "k1"
    bundle_server.status = 503
    failed = client.post(f"/api/v1/trust-domains/{body['id']}/refresh/")
    assert failed.status_code == 502 and "could not be fetched" in failed.json()["detail"]
    pasted = client.post("/api/v1/trust-domains/", {"name": "dev.example.com", "jwks": {"keys": [public_jwk(new_private_key(), kid="d1")]}},
                         content_type="application/json").json()
    assert client.post(f"/api/v1/trust-domains/{pasted['id']}/refresh/").status_code == 409


def test_an_endpoint_answering_a_byte_at_a_time_is_cut_off_at_the_timeout(monkeypatch):
    import time

    from tests.slow_server import SlowServer
    from tokens import remote_json

    monkeypatch.setattr(remote_json, "TIMEOUT_SECONDS", 1)
    server = SlowServer(body=b'{"keys": []}' + b" " * 28, every=0.3)  # never a second's silence, 12 s in all
    try:
        started = time.monotonic()
        with pytest.raises(remote_json.FetchFailed, match="took too long"):
            remote_json.fetch_json(server.origin + "/bundle", "The bundle endpoint")
    finally:
        server.stop()
    assert time.monotonic() - started < 3
