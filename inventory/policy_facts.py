"""The identity's own facts that policy decides on, and who may loosen them once it is in service.

Policy reads what the owners wrote about their identity: its autonomy (whether a person must
approve a consequential task), environment and trust boundary (which services it may reach),
sensitivity ceiling and allowed networks. Reviewers approve grants, and the access preview
tells them what policy will allow, on those facts. If an owner could change them afterwards,
an agent declared autonomous would stop asking for approval by being redeclared supervised,
and a development agent would reach production by an edit. So once an identity is in service
(activated, or granted access), only a security admin loosens them; owners may still tighten
(lower the ceiling, narrow the networks)."""

import ipaddress

from .models import Status

POLICY_FACTS = ("autonomy", "environment", "trust_boundary", "sensitivity_ceiling", "allowed_networks")

_ASK = "policy decides on it, so now that the identity is in service (active, or granted access) a security admin changes it"
REFUSALS = {
    "autonomy": f"Its autonomy: {_ASK}.",
    "environment": f"Its environment: {_ASK}.",
    "trust_boundary": f"Its trust boundary: {_ASK}.",
    "sensitivity_ceiling": f"You may lower the sensitivity ceiling; raising it: {_ASK}.",
    "allowed_networks": f"You may narrow the allowed networks; widening or clearing them: {_ASK}.",
}


def in_service(identity) -> bool:
    """Activated at some point (any status past registered), or granted access on any service."""
    return identity.status != Status.REGISTERED or identity.grants.exists()


def _narrower(before: list[str], after: list[str]) -> bool:
    """Every network now allowed lies inside one allowed before (none before: anywhere)."""
    if not after:
        return not before
    if not before:
        return True
    old = [ipaddress.ip_network(n) for n in before]
    return all(
        any(new.version == o.version and new.subnet_of(o) for o in old) for new in (ipaddress.ip_network(n) for n in after)
    )


def loosened(before: dict, after: dict) -> dict[str, str]:
    """The policy facts this change loosens, each with the reason an owner may not: for a
    ValidationError keyed by field, shown next to it on the page and in the API's 400."""
    refused = {}
    for name in ("autonomy", "environment", "trust_boundary"):
        if before[name] != after[name]:
            refused[name] = REFUSALS[name]
    if after["sensitivity_ceiling"] > before["sensitivity_ceiling"]:
        refused["sensitivity_ceiling"] = REFUSALS["sensitivity_ceiling"]
    if not _narrower(before["allowed_networks"], after["allowed_networks"]):
        refused["allowed_networks"] = REFUSALS["allowed_networks"]
    return refused
