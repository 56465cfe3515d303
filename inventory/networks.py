"""The networks an identity's tokens may be asked for from. A key that leaks with the agent's
code or config is then worth nothing from anywhere else: the token endpoint refuses it
before policy is asked. Empty: any network (the default, as before)."""

import ipaddress
from functools import lru_cache

from django.core.exceptions import ValidationError

MAX_NETWORKS = 50


def _network(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text.strip(), strict=True))
    except ValueError:
        try:
            loose = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            raise ValidationError(f"{text.strip()!r} is not an IP network: write 10.20.0.0/16, 2001:db8::/32 or one address.") from None
        raise ValidationError(f"{text.strip()} has host bits set: the network is {loose}.") from None


def normalized(values) -> list[str]:
    """The networks as CIDRs (one address becomes /32 or /128), each once, in the order given."""
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise ValidationError("Give a list of networks.")
    networks = list(dict.fromkeys(_network(v) for v in values if v.strip()))
    if len(networks) > MAX_NETWORKS:
        raise ValidationError(f"At most {MAX_NETWORKS} networks.")
    return networks


def validate_networks(value) -> None:
    normalized(value)


@lru_cache(maxsize=1024)
def _parsed(networks: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(n, strict=False) for n in networks)


def address_of(text: str):
    """The IP address a request came from, or None for anything else. A dual-stack listener
    shows IPv4 clients as ::ffff:a.b.c.d: that is the IPv4 address."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    return ip.ipv4_mapped if ip.version == 6 and ip.ipv4_mapped else ip


@lru_cache(maxsize=4096)
def canonical(address: str) -> str:
    """The address as networks and policy compare it (IPv4 unwrapped); "" for anything else."""
    ip = address_of(address)
    return "" if ip is None else str(ip)


def allows(networks, address: str) -> bool:
    """Whether a request from `address` may ask for this identity's tokens."""
    if not networks:
        return True
    ip = address_of(address)
    return ip is not None and any(ip in network for network in _parsed(tuple(networks)))
