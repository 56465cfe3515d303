"""The identity's own facts that policy decides on, and who may loosen them once it is in service.

Policy reads what the owners wrote about their identity: its autonomy (whether a person must
approve a consequential task), environment and trust boundary (which services it may reach),
sensitivity ceiling and allowed networks. Reviewers approve grants, and the access preview
tells them what policy will allow, on those facts. If an owner could change them afterwards,
an agent declared autonomous would stop asking for approval by being redeclared supervised,
and a development agent would reach production by an edit. So once an identity is in service
(activated, or granted access), only a security admin loosens them; owners may still tighten
(lower or clear the ceiling, narrow the networks).

The same holds from the moment access is asked for: a reviewer approves an access request on
the facts its page shows, so while one waits its owners may not loosen them either (else the
approval would be of an identity the reviewer never saw). Cancelling the request frees them."""

import ipaddress

from .models import Status

POLICY_FACTS = ("autonomy", "environment", "trust_boundary", "sensitivity_ceiling", "allowed_networks")
# The access request states that still wait for a decision (tokens.models.PENDING_ACCESS, named
# here so that inventory imports nothing from tokens).
_WAITING = ("owner_review", "service_review")

_ASK = "policy decides on it, so now that the identity is in service (active, or granted access) a security admin changes it"
REFUSALS = {
    "autonomy": f"Its autonomy: {_ASK}.",
    "environment": f"Its environment: {_ASK}.",
    "trust_boundary": f"Its trust boundary: {_ASK}.",
    "sensitivity_ceiling": f"You may lower the sensitivity ceiling; raising it: {_ASK}.",
    "allowed_networks": f"You may narrow the allowed networks; widening or clearing them: {_ASK}.",
}


def waiting_request(identity):
    """The oldest access request for it that still waits for a decision, if any."""
    return identity.access_requests.filter(state__in=_WAITING).order_by("requested_at", "pk").first()


def in_service(identity) -> bool:
    """Activated at some point (any status past registered), granted access on any service, or
    asking for access (an access request waits): its policy facts are then settled."""
    return identity.status != Status.REGISTERED or identity.grants.exists() or waiting_request(identity) is not None


def _settled_by_request(identity):
    """The access request that alone settles its facts (a registered identity with no grant,
    asking for access), or None."""
    if identity is None or identity.status != Status.REGISTERED or identity.grants.exists():
        return None
    return waiting_request(identity)


def refusals_for(identity) -> dict[str, str]:
    """The refusals, each saying why the facts are settled: in service, or an access request
    that waits (named, so the owner knows which decision they wait for)."""
    waiting = _settled_by_request(identity)
    if waiting is None:
        return REFUSALS
    ask = (
        f"policy decides on it, and access request #{waiting.pk} waits to be decided on it: until then a security "
        "admin changes it, or the request is cancelled first"
    )
    return {
        "autonomy": f"Its autonomy: {ask}.",
        "environment": f"Its environment: {ask}.",
        "trust_boundary": f"Its trust boundary: {ask}.",
        "sensitivity_ceiling": f"You may lower the sensitivity ceiling; raising it: {ask}.",
        "allowed_networks": f"You may narrow the allowed networks; widening or clearing them: {ask}.",
    }


def fixed_because(identity) -> str:
    """Why the edit page shows autonomy, environment and trust boundary fixed to an owner."""
    if waiting := _settled_by_request(identity):
        return f"Policy decides on this: a security admin changes it while access request #{waiting.pk} waits to be decided on it."
    return "Policy decides on this: a security admin changes it now that the identity is in service."


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


def _ceiling(value) -> int:
    """As policy reads it (tokens/policy/cedar_request.py): none is 0, the strictest."""
    return int(value or 0)


def loosened(before: dict, after: dict, identity=None) -> dict[str, str]:
    """The policy facts this change loosens, each with the reason an owner may not: for a
    ValidationError keyed by field, shown next to it on the page and in the API's 400. Given
    the identity, the reason names the access request that waits, when that is why."""
    reasons = refusals_for(identity)
    refused = {}
    for name in ("autonomy", "environment", "trust_boundary"):
        if before[name] != after[name]:
            refused[name] = reasons[name]
    if _ceiling(after["sensitivity_ceiling"]) > _ceiling(before["sensitivity_ceiling"]):
        refused["sensitivity_ceiling"] = reasons["sensitivity_ceiling"]
    if not _narrower(before["allowed_networks"], after["allowed_networks"]):
        refused["allowed_networks"] = reasons["allowed_networks"]
    return refused
