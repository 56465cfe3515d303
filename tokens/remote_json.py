"""Fetching a small JSON document a security admin pointed the portal at: a SPIFFE bundle
endpoint (tokens/trust_bundles.py), a service's protected resource metadata
(tokens/resource_metadata.py).

Only https, which the web PKI authenticates, or http on this machine (a server beside the
portal, or a test): the portal never fetches plain http across a network, and follows no
redirect (which would take it somewhere that rule never looked). Nor does it connect to a
link-local, metadata, unspecified, multicast or reserved address, whatever name resolves to it
(nhiportal/outbound.py). Answers are capped in size and time, and every failure becomes one
sentence for the admin.
"""

import functools
import http.client
import ipaddress
import time
import urllib.error
import urllib.parse
import urllib.request

from nhiportal import json_input, outbound
from nhiportal.deadlines import Deadline

MAX_BYTES = 1 << 20
TIMEOUT_SECONDS = 10


class FetchFailed(Exception):
    """Why the URL gave no usable document; shown to security admins."""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fetchable(url: str) -> bool:
    """https anywhere, or http on this machine; a URL that does not parse, or holds spaces or
    control characters, is neither."""
    if any(c.isspace() or ord(c) < 32 for c in url):
        return False
    try:
        parts = urllib.parse.urlsplit(url)
        host, _port = parts.hostname, parts.port
    except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 address), or a port past 65535
        return False
    if not host or "%" in host:  # a percent-encoded host is no host name
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and _loopback(host))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would take the fetch where the https-or-this-machine rule never looked (an
    # https URL answering 302 to http://169.254.169.254/, say): it is an answer, not a hop.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class _Checked:
    """An http.client connection that connects only to addresses the portal may call, judged
    as the host's name resolves (nhiportal/outbound.py): a refusal is an OSError like a refused
    connection, and so a FetchFailed that says why."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = outbound.connect  # http.client sets socket.create_connection per connection


class _DeadlineHTTPConnection(_Checked, Deadline, http.client.HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_Checked, Deadline, http.client.HTTPSConnection):
    pass


class _DeadlineHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, **deadline):
        super().__init__()
        self._deadline = deadline

    def do_open(self, http_class, req, **kwargs):
        return super().do_open(functools.partial(_DeadlineHTTPConnection, **self._deadline), req, **kwargs)


class _DeadlineHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, **deadline):
        super().__init__()
        self._deadline = deadline

    def do_open(self, http_class, req, **kwargs):
        return super().do_open(functools.partial(_DeadlineHTTPSConnection, **self._deadline), req, **kwargs)


def read_within(response, limit: int, deadline: float) -> bytes:
    """Up to `limit` bytes of the answer, read by whatever each packet brings, until `deadline`
    (time.monotonic()). The socket's timeout bounds each read only: a server sending a byte
    just inside it, again and again, would hold the sweep or a worker for as long as it liked."""
    chunks, held = [], 0
    while held < limit:
        if time.monotonic() > deadline:
            raise TimeoutError("the answer took too long to arrive")
        chunk = response.read1(min(65536, limit - held))
        if not chunk:
            break
        chunks.append(chunk)
        held += len(chunk)
    return b"".join(chunks)


def fetch_json(url: str, what: str):
    """The JSON document at `url`; FetchFailed names `what` (e.g. "The bundle endpoint") and why."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    deadline, watchdogs = time.monotonic() + TIMEOUT_SECONDS, []
    opener = urllib.request.build_opener(
        _NoRedirects, _DeadlineHTTPHandler(deadline=deadline, watchdogs=watchdogs),
        _DeadlineHTTPSHandler(deadline=deadline, watchdogs=watchdogs),
    )
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:  # https, or this machine
            body = read_within(response, MAX_BYTES + 1, deadline)
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:
            raise FetchFailed(
                f"{what} answered with a redirect (HTTP {error.code}) to {str(error.headers.get('Location', 'somewhere'))[:200]}: give that URL instead."
            ) from None
        raise FetchFailed(f"{what} could not be fetched: it answered HTTP {error.code}.") from None
    except (OSError, ValueError, http.client.HTTPException) as error:
        if time.monotonic() >= deadline:  # cut off by the watchdog, or the socket's own timeout
            raise FetchFailed(f"{what} could not be fetched: it took too long to answer (over {TIMEOUT_SECONDS} s).") from None
        # refused, unknown host, TLS failure, the connection dropped mid-answer, or a URL or an
        # answer http.client refuses
        reason = error.reason if isinstance(error, urllib.error.URLError) else error
        raise FetchFailed(f"{what} could not be fetched: {reason}.") from None
    finally:
        for watchdog in watchdogs:
            watchdog.cancel()
    if time.monotonic() >= deadline:  # cut off mid-body: what arrived is not the whole answer
        raise FetchFailed(f"{what} could not be fetched: it took too long to answer (over {TIMEOUT_SECONDS} s).")
    if len(body) > MAX_BYTES:
        raise FetchFailed(f"{what} answered with more than 1 MB.")
    try:
        return json_input.loads(body)
    except ValueError:
        raise FetchFailed(f"{what} did not answer with JSON.") from None
