"""Would the access asked for ever yield a token? The active policy's answer, before anyone decides.

A grant the policy always refuses (a service more sensitive than the identity's ceiling, a
production agent asking a sandbox service) is access on paper only: the agent's token request
gets access_denied and nobody learned why at decision time. The preview judges the token
request the grant would allow, as the token service would build it (tokens/policy/simulate.py),
with the asked-for scopes counted as granted and the identity as if active, and records
nothing. Scopes that need a person's approval per task are judged again with that approval.
"""

import copy
from dataclasses import dataclass

from inventory.models import Status

from .policy.compiled import ALLOW
from .policy.models import PolicyMode
from .policy.simulate import simulate


@dataclass(frozen=True)
class AccessPreview:
    decision: str  # what the policy says: "allow", "allow with approval" or "deny"
    policy_ids: tuple[str, ...]
    policy_version: int | None
    log_only: bool  # the policy only records its denials: the token would still be issued


def access_preview(access_request) -> AccessPreview:
    return grant_preview(access_request.identity, access_request.service, access_request.scopes)


def grant_preview(identity, service, scopes) -> AccessPreview:
    """The same question for a grant made directly (security admins), asked once it exists."""
    identity = copy.copy(identity)
    identity.status = Status.ACTIVE  # the question is the grant, not whether it is activated yet
    ask = dict(identity=identity, service=service, scopes=scopes, assume_granted=scopes)
    first = simulate(**ask)
    log_only = first.mode == PolicyMode.LOG_ONLY
    if first.verdict.decision == ALLOW:
        return AccessPreview("allow", first.verdict.policy_ids, first.version_number, log_only)
    if first.consequential_scopes:
        approved = simulate(**ask, human_approval=True)
        if approved.verdict.decision == ALLOW:
            return AccessPreview("allow with approval", approved.verdict.policy_ids, approved.version_number, log_only)
    return AccessPreview("deny", first.verdict.policy_ids, first.version_number, log_only)
