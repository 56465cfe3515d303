"""Where an identity's tokens are asked for from, and the first time a new network appears.

Agents run in fixed places: a cluster, a VPC, a pool of CI runners. A token asked for from a
network the identity never used before is the commonest sign that its key was copied out.
The portal remembers each network an identity got a token from (an IPv4 /24 or an IPv6 /64:
autoscaling moves an agent within one, a thief comes from elsewhere) and when it was first
seen. The first is the baseline (identity.first_network); each later one is news
(identity.new_network), which webhooks push at once, the identity page shows and the risk
score counts for NEW_NETWORK_DAYS. It detects, where allowed networks (inventory/networks.py)
prevent: an identity with none set is still watched.

Each process remembers the pairs already recorded, so on the token path a known network
costs a set lookup; a new one costs one insert and one audit event in the issuing
transaction.
"""

import ipaddress
from datetime import timedelta
from functools import lru_cache

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet

from nhiportal.audit.services import agent_actor, audit_record

from .models import SourceNetwork

PREFIX_LENGTH = {4: 24, 6: 64}
NEW_NETWORK_DAYS = 7
_REMEMBERED_MAX = 100_000
_recorded: set[tuple] = set()


@lru_cache(maxsize=4096)
def network_of(address: str) -> str | None:
    """The /24 or /64 the address is in; None for anything that is not an address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ipaddress.ip_network(f"{ip}/{PREFIX_LENGTH[ip.version]}", strict=False))


def _remember(key: tuple) -> None:
    if len(_recorded) >= _REMEMBERED_MAX:
        _recorded.clear()  # forgetting costs one failed insert per pair, never a missed network
    _recorded.add(key)


def source_note(*, identity_id, client_id: str, address: str, now) -> None:
    """Record the network of a request that is getting a token, inside its transaction."""
    network = network_of(address) if address else None
    key = (identity_id, network)
    if network is None or key in _recorded:
        return
    try:
        with transaction.atomic():  # a savepoint: a network another worker just recorded is no error
            SourceNetwork.objects.create(identity_id=identity_id, network=network, first_seen_at=now)
    except IntegrityError:
        pass
    else:
        first = not SourceNetwork.objects.filter(identity_id=identity_id).exclude(network=network).exists()
        audit_record(
            actor=agent_actor(client_id), action="identity.first_network" if first else "identity.new_network",
            object_type="inventory.aiidentity", object_id=str(identity_id), object_repr=network, identity=identity_id,
            after={"network": network, "address": address},
        )
    # Only once it is committed: a rolled-back insert must be tried again.
    transaction.on_commit(lambda: _remember(key))


def new_networks(now) -> QuerySet:
    """Networks first seen in the last NEW_NETWORK_DAYS that were not their identity's first."""
    earlier = SourceNetwork.objects.filter(identity=OuterRef("identity"), first_seen_at__lt=OuterRef("first_seen_at"))
    return SourceNetwork.objects.filter(first_seen_at__gte=now - timedelta(days=NEW_NETWORK_DAYS)).filter(Exists(earlier))


def identity_sources(identity, now, limit: int = 20) -> list[dict]:
    """The networks the identity got tokens from, newest first, each marked new or baseline."""
    sources = SourceNetwork.objects.filter(identity=identity).order_by("-first_seen_at")[:limit]
    first = SourceNetwork.objects.filter(identity=identity).order_by("first_seen_at").values_list("pk", flat=True).first()
    cutoff = now - timedelta(days=NEW_NETWORK_DAYS)
    return [
        {"network": s.network, "first_seen_at": s.first_seen_at, "baseline": s.pk == first,
         "new": s.pk != first and s.first_seen_at >= cutoff}
        for s in sources
    ]
