"""A webhook receiver for the tests: a real HTTP server on loopback that records each request
and answers with the status the test sets; and a webhook whose receiver failed an event."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nhiportal.webhooks.delivery import deliver_all
from nhiportal.webhooks.models import WebhookDelivery
from nhiportal.webhooks.services import endpoint_create


class Receiver:
    def __init__(self):
        self.requests = []  # (headers dict, body bytes)
        self.status = 204
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/nhi"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(receiver.status)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def failed(receiver, sam, alice, make_identity):
    """(endpoint, secret, delivery): the receiver answered 503 to the first event since the
    webhook was made, which now waits at the head of its queue while the endpoint backs off.
    The receiver answers 204 again from here on."""
    endpoint, secret = endpoint_create(actor=sam, url=receiver.url, description="SOC")
    receiver.status = 503
    make_identity(alice, name="billing-bot")
    deliver_all()
    receiver.status = 204
    endpoint.refresh_from_db()
    return endpoint, secret, WebhookDelivery.objects.get(endpoint=endpoint)
