"""Where the portal's outbound calls may go: never to a link-local or cloud metadata address,
the unspecified address, a multicast or a reserved one.

Security admins give the portal URLs to call: webhook receivers, bundle endpoints, JWKS URIs,
issuers' discovery documents, resources' metadata. One pointed at 169.254.169.254 would have
the portal fetch its own host's cloud credentials and show whoever reads the failure what came
back (server-side request forgery). Loopback and private addresses (RFC 1918, fc00::/7) stay
allowed: on-premise receivers live there, and the tests' servers listen on 127.0.0.1.

The check that counts is made as the portal connects (connect), on each address the host's
name resolved to, before connecting to it: a name that resolves to a refused address, or whose
DNS answer changed since it was saved (rebinding), is caught there. Where an admin types a URL,
a host that is itself an address is refused at once (validate_url), so the mistake shows next
to the field; a host name is not resolved then. Behind a forward proxy (HTTPS_PROXY) it is the
proxy that resolves and connects: it must refuse these addresses itself.
"""

import ipaddress
import re
import socket
import urllib.parse

from django.core.exceptions import ValidationError

# The well-known NAT64 prefix (RFC 6052): an IPv6-only network reaches IPv4 hosts through it,
# so 64:ff9b::a9fe:a9fe is 169.254.169.254 behind the gateway.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Cloud metadata services at addresses no range below catches: AWS's over IPv6 (a unique local
# address) and Alibaba Cloud's (in the shared address space). The others are at 169.254.169.254.
_METADATA = frozenset(map(ipaddress.ip_address, ("fd00:ec2::254", "100.100.100.200")))
# An IPv4 address in the forms inet_aton (and so getaddrinfo) reads besides a.b.c.d: 2852039166,
# 0xa9fea9fe, 169.254.43518. ipaddress reads none of them, and such a host is no DNS name.
_IPV4_SHORTHAND = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$", re.IGNORECASE)


class Refused(ConnectionError):
    """The host's address is one the portal never calls; no connection was made. A
    ConnectionError, so each caller reports it as it reports a host that cannot be reached."""


def address_refusal(address) -> str | None:
    """What `address` (an ipaddress address, or its text) is that the portal never calls, as
    in "a link-local address"; None when the portal may call it."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if ip.version == 6:
        # ::ffff:169.254.169.254 reaches 169.254.169.254, as may its NAT64, 6to4 (2002::/16) and
        # Teredo (2001::/32) forms where a relay routes them: each is judged as that address.
        teredo = ip.teredo
        ip = ip.ipv4_mapped or ip.sixtofour or (teredo[1] if teredo else None) or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else ip
        )
    if ip.is_unspecified:  # 0.0.0.0 and :: are this machine to connect(): a way round "loopback only"
        return "the unspecified address"
    if ip.is_loopback:  # before is_reserved, which takes in all of ::/8, ::1 too
        return None
    if ip.is_link_local:
        return "a link-local address"
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:
        return "a reserved address"
    return None


def _literal(host: str):
    """The address a URL's host is written as, or None for a host name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _IPV4_SHORTHAND.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def url_refusal(url: str) -> str | None:
    """Why the portal will not call `url`, when its host is an address it never calls; None
    otherwise, also for a URL that does not parse (the field's own check says so) and for a host
    name (checked as it resolves, when the portal connects)."""
    try:
        host = urllib.parse.urlsplit(url.strip()).hostname
    except ValueError:
        return None
    address = _literal(host) if host else None
    kind = address_refusal(address) if address is not None else None
    if not kind:
        return None
    shown = host if ":" in host or str(address) == host else f"{host} ({address})"  # 2852039166 (169.254.169.254)
    return f"{shown} is {kind}; the portal never calls it."


def validate_url(url: str, field: str) -> None:
    """ValidationError on `field` for a URL the portal will never call (url_refusal)."""
    if refusal := url_refusal(url or ""):
        raise ValidationError({field: refusal})


def connect(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, *, socket_options=()) -> socket.socket:
    """socket.create_connection (http.client's, and urllib3's with its socket_options), judging
    each address the host resolves to before connecting to it: one the portal never calls is
    skipped, and Refused is raised when no other one connected."""
    host, port = address
    refused = failed = None
    for family, kind, proto, _name, sockaddr in socket.getaddrinfo(host.strip("[]"), port, 0, socket.SOCK_STREAM):
        why = address_refusal(sockaddr[0])
        if why:
            refused = Refused(f"refused: {sockaddr[0]} is {why}, which the portal never calls")
            continue
        sock = socket.socket(family, kind, proto)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            if timeout is None or isinstance(timeout, (int, float)):  # else a library's "its default" marker
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as error:
            sock.close()
            failed = error
    raise refused or failed or OSError("getaddrinfo returns an empty list")


def refusal_behind(error: BaseException) -> Refused | None:
    """The Refused a library's own errors wrap, if one does (requests' ConnectionError holds
    urllib3's MaxRetryError, which holds its NewConnectionError, which holds the Refused)."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, Refused):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None
