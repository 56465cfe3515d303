"""Fetching a small JSON document a security admin pointed the portal at: a SPIFFE bundle
endpoint (tokens/trust_bundles.py), a service's protected resource metadata
(tokens/resource_metadata.py).

Only https, which the web PKI authenticates, or http on this machine (a server beside the
portal, or a test): the portal never fetches plain http across a network. Answers are
capped in size and time, and every failure becomes one sentence for the admin.
"""

import ipaddress
import json
import urllib.error
import urllib.parse
import urllib.request

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
    """https anywhere, or http on this machine."""
    parts = urllib.parse.urlsplit(url)
    return bool(parts.hostname) and (parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname)))


def fetch_json(url: str, what: str):
    """The JSON document at `url`; FetchFailed names `what` (e.g. "The bundle endpoint") and why."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - https, or this machine
            body = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise FetchFailed(f"{what} could not be fetched: it answered HTTP {error.code}.") from None
    except urllib.error.URLError as error:  # refused, unknown host, TLS failure
        raise FetchFailed(f"{what} could not be fetched: {error.reason}.") from None
    except OSError as error:  # timed out, or the connection dropped mid-answer
        raise FetchFailed(f"{what} could not be fetched: {error}.") from None
    if len(body) > MAX_BYTES:
        raise FetchFailed(f"{what} answered with more than 1 MB.")
    try:
        return json.loads(body)
    except ValueError:
        raise FetchFailed(f"{what} did not answer with JSON.") from None
