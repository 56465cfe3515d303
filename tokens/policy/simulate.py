"""The simulator: what a version would decide for an identity, a service and a task.

It builds the request the token service would (live grants, consequential scopes, owners'
status), judges it, and records nothing: a simulation is not a decision.
"""

from dataclasses import dataclass

from django.utils import timezone

from inventory.models import Ownership

from .active import active_policy
from .cedar_request import CedarRequest, request_from_portal
from .compiled import Verdict, compiled_version
from .engine import PolicyRequest, enforced_decision
from .selectors import consequential_scopes, granted_scopes


@dataclass(frozen=True)
class Simulation:
    request: CedarRequest
    verdict: Verdict
    version_number: int | None  # None: the shipped default
    mode: str
    enforced: str
    granted_scopes: tuple[str, ...]
    consequential_scopes: tuple[str, ...]


def simulate(
    *,
    identity,
    service,
    scopes,
    action: str = "issue",
    intent: str = "",
    sensitivity: int | None = None,
    requested_ttl: int = 0,
    human_approval: bool = False,
    sender_constrained: bool = False,
    source_address: str = "",
    credential: str = "jwk",
    new_network: bool = False,
    version=None,
    at=None,
    assume_granted=(),
) -> Simulation:
    """Judge a request with `version` (a PolicyVersion; None: whatever applies now).

    assume_granted: scopes to count as granted on top of the live grants (an access request
    not yet decided, say)."""
    at = at or timezone.now()
    scopes = tuple(dict.fromkeys(scopes))
    granted = tuple(dict.fromkeys(granted_scopes(identity=identity, service=service, at=at) + tuple(assume_granted)))
    consequential = consequential_scopes(service=service, scopes=scopes)
    request = PolicyRequest(
        action=action,
        identity=identity,
        service=service,
        scopes=scopes,
        granted_scopes=granted,
        intent=intent,
        sensitivity=sensitivity,
        requested_ttl=requested_ttl,
        human_approval=human_approval,
        consequential=bool(consequential),
        sender_constrained=sender_constrained,
        source_address=source_address,
        credential=credential,
        new_network=new_network,
        at=at,
    )
    owners_active = Ownership.objects.filter(identity=identity, person__is_active=True).exists()
    cedar = request_from_portal(request, owners_active=owners_active, at=at)
    if version is None:
        policy = active_policy()
        compiled, number, mode = policy.compiled, policy.number, policy.mode
    else:
        compiled, number, mode = compiled_version(version), version.number, version.mode
    verdict = compiled.judge(cedar, strict=True)
    return Simulation(cedar, verdict, number, mode, enforced_decision(verdict, mode), granted, consequential)
