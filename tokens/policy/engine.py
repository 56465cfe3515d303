"""The policy decision point the token service calls. (Interface; the Cedar engine fills it in.)

The token service builds a PolicyRequest for every issuance and exchange and calls
`policy_decide` inside its own transaction, so the decision row commits with the
token (or, on a deny, alone). Refusals the token service makes itself, before policy
(identity not active, no live grant, unknown service), are recorded with
`decision_record_refusal`, so an owner sees every refusal in one place.
"""

from dataclasses import dataclass, field

ISSUE = "issue"
EXCHANGE = "exchange"
APPROVE = "approve"


@dataclass(frozen=True)
class PolicyRequest:
    action: str  # ISSUE or EXCHANGE
    identity: object  # inventory.models.AIIdentity
    service: object  # tokens.models.Service
    scopes: tuple[str, ...]
    granted_scopes: tuple[str, ...]  # union of the identity's live grants on the service
    intent: str = ""
    sensitivity: int | None = None  # the task's data sensitivity (1..4), if the request said
    requested_ttl: int = 0  # seconds
    human_approval: bool = False  # a person approved this task
    consequential: bool = False  # any requested scope is consequential on the service
    extra_context: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PolicyOutcome:
    allowed: bool  # what the portal enforces (log-only mode allows a deny)
    decision: str  # what Cedar decided: "allow" or "deny"
    policy_ids: tuple[str, ...]  # the policies that determined it
    errors: tuple[str, ...]
    ttl_bound: int | None  # seconds: the policy's bound on the token lifetime, if any
    decision_id: int | None  # the PolicyDecision row


def policy_decide(request: PolicyRequest) -> PolicyOutcome:
    """Evaluate the active policy version and record the decision."""
    return PolicyOutcome(True, "allow", (), (), None, None)


def decision_record_refusal(*, action: str, identity, service, rule: str, detail: str, summary: dict) -> None:
    """Record a refusal the portal made before policy (rule like "portal:identity-not-active")."""
