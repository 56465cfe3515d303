"""Where an identity's tokens are asked for from, and the first time a new network appears.

Agents run in fixed places: a cluster, a VPC, a pool of CI runners. A token asked for from a
network the identity never used before is the commonest sign that its key was copied out.
The portal remembers each network an identity got a token from (an IPv4 /24 or an IPv6 /64:
autoscaling moves an agent within one, a thief comes from elsewhere) and when it was first
seen. The first is the baseline (identity.first_network); each later one is news
(identity.new_network), which webhooks push at once, the owners are mailed about on the next
sweep (notify_new_networks), the identity page shows and the risk score counts for
NEW_NETWORK_DAYS. It detects, where allowed networks (inventory/networks.py)
prevent: an identity with none set is still watched.

Each process remembers the pairs already recorded, so on the token path a known network
costs a set lookup; a new one costs one insert and one audit event in the issuing
transaction.
"""

import ipaddress
from datetime import timedelta
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from inventory.networks import address_of
from inventory.services import identity_update
from nhiportal.audit.services import actor_label, agent_actor, audit_record

from .models import SourceNetwork
from .owner_notices import OwnerNotice, digest
from .revocation import lock_identity
from .selectors import visible_identities

PREFIX_LENGTH = {4: 24, 6: 64}
NEW_NETWORK_DAYS = 7
_REMEMBERED_MAX = 100_000
_recorded: set[tuple] = set()


@lru_cache(maxsize=4096)
def network_of(address: str) -> str | None:
    """The /24 or /64 the address is in; None for anything that is not an address."""
    ip = address_of(address)
    return None if ip is None else str(ipaddress.ip_network(f"{ip}/{PREFIX_LENGTH[ip.version]}", strict=False))


def _remember(key: tuple) -> None:
    if len(_recorded) >= _REMEMBERED_MAX:
        _recorded.clear()  # forgetting costs one failed insert per pair, never a missed network
    _recorded.add(key)


def source_note(*, identity_id, name: str, client_id: str, address: str, now) -> None:
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
            # Read in chat channels as "<agent> identity.new_network <name> from <network>".
            object_type="inventory.aiidentity", object_id=str(identity_id), object_repr=f"{name} from {network}", identity=identity_id,
            after={"network": network, "address": address},
        )
    # Only once it is committed: a rolled-back insert must be tried again.
    transaction.on_commit(lambda: _remember(key))


def new_networks(now) -> QuerySet:
    """Networks first seen in the last NEW_NETWORK_DAYS that were not their identity's first,
    nor recognised by an owner."""
    earlier = SourceNetwork.objects.filter(identity=OuterRef("identity"), first_seen_at__lt=OuterRef("first_seen_at"))
    return (
        SourceNetwork.objects.filter(first_seen_at__gte=now - timedelta(days=NEW_NETWORK_DAYS), recognised_by_label="")
        .filter(Exists(earlier))
    )


def network_is_new(identity_id, address: str) -> bool:
    """Whether a request comes from a network the identity never got a token from, when it has
    got tokens before (its first network is its baseline, not news): policy's context.new_network.
    A network this process recorded costs a set lookup; any other, one query or two."""
    network = network_of(address) if address else None
    if network is None or (identity_id, network) in _recorded:
        return False
    if SourceNetwork.objects.filter(identity_id=identity_id, network=network).exists():
        _remember((identity_id, network))
        return False
    return SourceNetwork.objects.filter(identity_id=identity_id).exists()


@transaction.atomic
def network_recognise(*, actor, identity, address: str) -> SourceNetwork:
    """An owner says a network is the agent's before any token came from it (a policy refused
    the first on context.new_network): its next request from there is not new. One audit event."""
    network = network_of(address.strip()) if address and address.strip() else None
    if network is None:
        raise ValidationError({"address": "Give an IP address the agent asks from, such as 10.20.3.4 or 2001:db8::7."})
    if lock_identity(identity.pk).is_offboarded:
        # Offboarded is final: a network vouched for now would only wait for its key to be reused.
        raise ValidationError({"address": "This identity is offboarded: it gets no more tokens, from any network."})
    if SourceNetwork.objects.filter(identity=identity, network=network).exists():
        raise ValidationError({"address": f"{network} is one of its networks already."})
    source = SourceNetwork.objects.create(
        identity=identity, network=network, first_seen_at=timezone.now(), recognised_by_label=actor_label(actor)[:200],
    )
    audit_record(
        actor=actor, action="identity.network_recognise", object_type="inventory.aiidentity", object_id=str(identity.pk),
        object_repr=f"{identity.name} from {network}", identity=identity.pk, after={"network": network},
    )
    return source


NOTICE = OwnerNotice(
    model=SourceNetwork, told_field="told_at", action="identities.notify_new_networks",
    object_type="tokens.sourcenetwork", object_id="new-networks", object_repr="new network notices", noun="networks",
)


def new_networks_notify(*, actor, now=None) -> dict:
    """Mail each owner the new networks their identities got tokens from, each network once:
    they know whether the agent moved; if it did not, its key was copied."""
    now = now or timezone.now()
    due = new_networks(now).filter(told_at__isnull=True).select_related("identity").order_by("pk")
    body = digest(
        lambda networks: (
            f"{'These identities' if len(networks) != 1 else 'An identity'} you own got a token from a network "
            "never used before. If the agent moved there, nothing needs doing. If not, its key was copied: "
            "report the key leaked on its page (its tokens are revoked at once), give the agent a new key, "
            "and set its allowed networks so a copy is refused anywhere else."
        ),
        lambda s: (f"{s.identity.name}: {s.network}, first at {s.first_seen_at:%Y-%m-%d %H:%M} UTC", "", f"/identities/{s.identity_id}/#credentials"),
    )
    return NOTICE.run(
        actor=actor, now=now, due=due, body=body,
        subject=lambda mine: f"[NHI Portal] {len(mine)} new network{'s' if len(mine) != 1 else ''} for agents you own",
    )


def source_list(*, user, identity=None) -> QuerySet:
    """The networks the identities `user` sees got tokens from, newest first, each annotated
    `baseline` (its identity's first)."""
    earlier = SourceNetwork.objects.filter(identity=OuterRef("identity"), first_seen_at__lt=OuterRef("first_seen_at"))
    found = SourceNetwork.objects.filter(identity__in=visible_identities(user)).annotate(baseline=~Exists(earlier))
    if identity is not None:
        found = found.filter(identity_id=identity)
    return found.select_related("identity").order_by("-first_seen_at", "-pk")


def identity_bind_to_seen_networks(*, actor, identity, expected_version: int):
    """Detection into prevention in one step: the identity's allowed networks become the
    networks it got tokens from (identity_update: one identity.update event; refused if the
    identity changed since the page was loaded)."""
    seen = sorted(SourceNetwork.objects.filter(identity=identity).values_list("network", flat=True))
    if not seen:
        raise ValidationError("It got no token yet: there is no network to bind it to.")
    return identity_update(actor=actor, identity=identity, expected_version=expected_version, allowed_networks=seen)


def identity_sources(identity, now, limit: int = 20) -> list[dict]:
    """The networks the identity got tokens from, newest first, each marked new or baseline."""
    sources = SourceNetwork.objects.filter(identity=identity).order_by("-first_seen_at")[:limit]
    first = SourceNetwork.objects.filter(identity=identity).order_by("first_seen_at").values_list("pk", flat=True).first()
    cutoff = now - timedelta(days=NEW_NETWORK_DAYS)
    return [
        {"network": s.network, "first_seen_at": s.first_seen_at, "baseline": s.pk == first,
         "recognised_by": s.recognised_by_label,
         "new": s.pk != first and not s.recognised_by_label and s.first_seen_at >= cutoff}
        for s in sources
    ]
