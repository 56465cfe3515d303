"""Fetching a small JSON document a security admin pointed the portal at: a SPIFFE bundle
endpoint (tokens/trust_bundles.py), a service's protected resource metadata
(tokens/resource_metadata.py).

Only https, which the web PKI authenticates, or http on this machine (a server beside the
portal, or a test): the portal never fetches plain http across a network, and follows no
redirect (which would take it somewhere that rule never looked). Answers are capped in size
and time, and every failure becomes one sentence for the admin.
"""

import http.client
import ipaddress
import time
import urllib.error
import urllib.parse
import urllib.request

from nhiportal import json_input

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


_opener = urllib.request.build_opener(_NoRedirects)


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
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:  # https, or this machine
            body = read_within(response, MAX_BYTES + 1, time.monotonic() + TIMEOUT_SECONDS)
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:
            raise FetchFailed(
                f"{what} answered with a redirect (HTTP {error.code}) to {str(error.headers.get('Location', 'somewhere'))[:200]}: give that URL instead."
            ) from None
        raise FetchFailed(f"{what} could not be fetched: it answered HTTP {error.code}.") from None
    except urllib.error.URLError as error:  # refused, unknown host, TLS failure
        raise FetchFailed(f"{what} could not be fetched: {error.reason}.") from None
    except OSError as error:  # timed out, or the connection dropped mid-answer
        raise FetchFailed(f"{what} could not be fetched: {error}.") from None
    except (ValueError, http.client.HTTPException) as error:  # a URL or an answer http.client refuses
        raise FetchFailed(f"{what} could not be fetched: {error}.") from None
    if len(body) > MAX_BYTES:
        raise FetchFailed(f"{what} answered with more than 1 MB.")
    try:
        return json_input.loads(body)
    except ValueError:
        raise FetchFailed(f"{what} did not answer with JSON.") from None
