"""Endpoints the portal fetches JSON from (bundle endpoints, JWKS URIs, resource metadata)
misbehaving: each gives the security admin a reason and leaves the keys in use as they were."""

import json
import time
from datetime import timedelta

import pytest

from tokens import remote_json
from tokens.models import TrustDomain
from tokens.services import trust_domain_create
from tokens.trust_bundles import MAX_REFRESH_SECONDS, bundle_refresh, is_due
from tests.misbehaving_server import MisbehavingServer

from .conftest import new_private_key, public_jwk


@pytest.fixture
def server():
    held = MisbehavingServer()
    yield held
    held.stop()


@pytest.fixture
def trust_domain(sam, server):
    server.respond("200 OK", json.dumps({"keys": [public_jwk(new_private_key(), kid="k1", use="jwt-svid")]}).encode())
    return trust_domain_create(actor=sam, name="prod.example.com", bundle_endpoint=server.origin + "/")


@pytest.mark.parametrize("status, body, content_type, says", [
    ("200 OK", b"<html><body>Sign in to the proxy</body></html>", "text/html", "did not answer with JSON"),
    ("200 OK", b'{"keys": [', "application/json", "did not answer with JSON"),
    ("502 Bad Gateway", b"<html>upstream down</html>", "text/html", "answered HTTP 502"),
    ("200 OK", b'{"keys": [{"kty": "EC", "kid": "e", "crv": "P-256", "x": "!!", "y": 5}]}', "application/json", "not a usable bundle"),
])
def test_a_jwks_endpoint_answering_html_or_garbage_leaves_the_keys_in_use(sam, server, trust_domain, status, body, content_type, says):
    server.respond(status, body, content_type)
    assert bundle_refresh(actor=sam, holder=trust_domain) == "failed"
    trust_domain.refresh_from_db()
    assert says in trust_domain.bundle_error and [k["kid"] for k in trust_domain.jwks["keys"]] == ["k1"]


def test_an_endpoint_closing_the_connection_says_so_and_keeps_the_keys(sam, server, trust_domain):
    server.answer = None
    assert bundle_refresh(actor=sam, holder=trust_domain) == "failed"
    trust_domain.refresh_from_db()
    assert "could not be fetched" in trust_domain.bundle_error and trust_domain.jwks["keys"]


def test_an_endpoint_trickling_its_status_line_and_headers_is_cut_off_at_the_timeout(monkeypatch):
    monkeypatch.setattr(remote_json, "TIMEOUT_SECONDS", 1)
    server = MisbehavingServer(every=0.2)  # a byte every fifth of a second: never a second's silence
    server.respond("200 OK", b'{"keys": []}', X_Padding="p" * 40)
    started = time.monotonic()
    try:
        with pytest.raises(remote_json.FetchFailed, match="took too long to answer"):
            remote_json.fetch_json(server.origin + "/", "The bundle endpoint")
    finally:
        server.stop()
    assert time.monotonic() - started < 3


def test_a_bundles_absurd_refresh_hint_is_held_to_a_day(sam, server, trust_domain):
    bundle = json.loads(server.answer.split(b"\r\n\r\n", 1)[1])
    server.respond("200 OK", json.dumps({**bundle, "spiffe_refresh_hint": 10**30}).encode())
    assert bundle_refresh(actor=sam, holder=trust_domain) == "unchanged"
    trust_domain.refresh_from_db()
    assert trust_domain.refresh_hint == MAX_REFRESH_SECONDS and trust_domain.bundle_error == ""
    TrustDomain.objects.filter(pk=trust_domain.pk).update(refresh_hint=2**31 - 1)  # kept before the cap
    trust_domain.refresh_from_db()
    assert is_due(trust_domain, trust_domain.bundle_fetched_at + timedelta(seconds=MAX_REFRESH_SECONDS))

