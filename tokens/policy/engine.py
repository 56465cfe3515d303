"""The policy decision point the token service calls.

The token service builds a PolicyRequest for every issuance and exchange, evaluates it
(`policy_evaluate`) and inserts its `decision_row` inside its own transaction, so the
decision row commits with the token (or, on a deny, alone); `policy_decide` does both.
Refusals the token service makes itself, before policy (identity not active, no live
grant, unknown service), are recorded with `decision_record_refusal`, so an owner sees
every refusal in one place.
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from inventory.models import Ownership
from nhiportal import prepared_sql

from .active import ActivePolicy, active_policy
from .cedar_request import CedarRequest, request_from_portal
from .compiled import ALLOW, DENY, Verdict
from .models import PolicyDecision, PolicyMode

logger = logging.getLogger(__name__)

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
    sender_constrained: bool = False  # the token will be bound to the agent's DPoP key
    source_address: str = ""  # the request's address (REMOTE_ADDR); "" when there is none
    credential: str = "jwk"  # how the agent proved itself: a CredentialKind value
    new_network: bool = False  # it asks from a network it never got a token from (tokens/source_networks.py)
    # "owners_active": bool, when the caller already knows it (saves a query).
    extra_context: dict = field(default_factory=dict)
    at: datetime | None = None  # when the request is evaluated (hour, weekday); now if None


@dataclass(frozen=True)
class PolicyOutcome:
    allowed: bool  # what the portal enforces (log-only mode allows a deny)
    decision: str  # what Cedar decided: "allow" or "deny"
    policy_ids: tuple[str, ...]  # the policies that determined it
    errors: tuple[str, ...]
    ttl_bound: int | None  # seconds: the policy's bound on the token lifetime, if any
    decision_id: int | None  # the PolicyDecision row
    version: int | None = None  # the policy version's number; None: the shipped default


@dataclass(frozen=True)
class Evaluation:
    policy: ActivePolicy
    request: CedarRequest
    verdict: Verdict
    enforced: str
    at: datetime
    eval_ms: float


def _owners_active(request: PolicyRequest) -> bool:
    if "owners_active" in request.extra_context:
        return bool(request.extra_context["owners_active"])
    annotated = getattr(request.identity, "has_active_owner", None)  # selectors.with_owner_facts
    if annotated is not None:
        return bool(annotated)
    return Ownership.objects.filter(identity_id=request.identity.pk, person__is_active=True).exists()


def enforced_decision(verdict: Verdict, mode: str) -> str:
    """Log-only allows what it would deny, except an evaluation error: that always denies."""
    if mode == PolicyMode.LOG_ONLY and not verdict.errors:
        return ALLOW
    return verdict.decision


def policy_evaluate(request: PolicyRequest) -> Evaluation:
    """Evaluate the active policy without recording anything."""
    started = time.perf_counter()
    at = request.at or timezone.now()
    policy = active_policy()
    cedar = request_from_portal(request, owners_active=_owners_active(request), at=at)
    verdict = policy.compiled.judge(cedar)
    eval_ms = (time.perf_counter() - started) * 1000
    return Evaluation(policy, cedar, verdict, enforced_decision(verdict, policy.mode), at, eval_ms)


def decision_row(evaluation: Evaluation, request: PolicyRequest) -> prepared_sql.Insert:
    """The PolicyDecision row recording an evaluation, ready to insert (issuance prepares it
    before it takes the write lock, and inserts it inside, with the token)."""
    verdict = evaluation.verdict
    if verdict.errors:
        logger.warning(
            "policy evaluation failed, denied: action=%s identity=%s errors=%s",
            request.action, request.identity.pk, "; ".join(verdict.errors),
        )
    # Hand-rendered SQL: this runs inside every issuance's write lock, where the ORM's
    # per-query build cost is what the other writers wait for (see nhiportal/prepared_sql.py).
    return prepared_sql.Insert(
        PolicyDecision,
        dict(
            at=evaluation.at,
            version=evaluation.policy.version_id,
            mode=evaluation.policy.mode,
            action=request.action,
            identity_id=request.identity.pk,
            service_id=request.service.pk,
            request=evaluation.request.as_json(),
            decision=verdict.decision,
            enforced=evaluation.enforced,
            policy_ids=list(verdict.policy_ids),
            errors=list(verdict.errors),
            eval_ms=round(evaluation.eval_ms, 3),
        ),
    )


def policy_decide(request: PolicyRequest) -> PolicyOutcome:
    """Evaluate the active policy version and record the decision."""
    evaluation = policy_evaluate(request)
    verdict = evaluation.verdict
    return PolicyOutcome(
        allowed=evaluation.enforced == ALLOW,
        decision=verdict.decision,
        policy_ids=verdict.policy_ids,
        errors=verdict.errors,
        ttl_bound=verdict.ttl_bound,
        decision_id=decision_row(evaluation, request).run(returning=True),
        version=evaluation.policy.number,
    )


def decision_record_refusal(*, action: str, identity, service, rule: str, detail: str, summary: dict) -> None:
    """Record a refusal the portal made before policy (rule like "portal:identity-not-active")."""
    PolicyDecision.objects.create(
        mode=PolicyMode.ENFORCE,
        action=action,
        identity_id=getattr(identity, "pk", identity),
        service_id=getattr(service, "pk", service),
        request=summary or {},
        decision=DENY,
        enforced=DENY,
        policy_ids=[rule],
        errors=[detail] if detail else [],
        eval_ms=0,
    )
