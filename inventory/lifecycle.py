"""The identity lifecycle: which transitions exist, and what activation requires.

Other apps extend activation's requirements (the token service adds "a workload
credential") by registering a check here, and react to an identity leaving service
through the `identity_deactivated` signal, sent inside the transition's transaction
so their side effects (revoking tokens) commit with it or not at all.
"""

from collections.abc import Callable

from django.dispatch import Signal

from .models import AIIdentity, Status

ACTIVATE = "activate"
SUSPEND = "suspend"
REACTIVATE = "reactivate"
OFFBOARD = "offboard"

# action -> (states it may start from, state it leads to)
TRANSITIONS = {
    ACTIVATE: ({Status.REGISTERED}, Status.ACTIVE),
    SUSPEND: ({Status.ACTIVE}, Status.SUSPENDED),
    REACTIVATE: ({Status.SUSPENDED}, Status.ACTIVE),
    OFFBOARD: ({Status.REGISTERED, Status.ACTIVE, Status.SUSPENDED}, Status.OFFBOARDED),
}
ACTION_LABELS = {ACTIVATE: "Activate", SUSPEND: "Suspend", REACTIVATE: "Reactivate", OFFBOARD: "Offboard"}

# Sent with sender=AIIdentity, identity=..., action=SUSPEND|OFFBOARD, actor=..., reason=...
identity_deactivated = Signal()

ActivationCheck = Callable[[AIIdentity], list[str]]
_activation_checks: list[ActivationCheck] = []


def register_activation_check(check: ActivationCheck) -> ActivationCheck:
    if check not in _activation_checks:
        _activation_checks.append(check)
    return check


def allowed_actions(identity: AIIdentity) -> list[str]:
    return [action for action, (sources, _) in TRANSITIONS.items() if identity.status in sources]


def _core_requirements(identity: AIIdentity) -> list[str]:
    missing = []
    if not identity.ownerships.filter(person__is_active=True).exists():
        missing.append("an active owner")
    if not identity.purpose.strip():
        missing.append("a purpose")
    if not identity.trust_boundary.strip():
        missing.append("a trust boundary")
    if identity.sensitivity_ceiling is None:
        missing.append("a data sensitivity ceiling")
    if not identity.offboarding_plan.strip():
        missing.append("an offboarding plan")
    return missing


def missing_for_activation(identity: AIIdentity) -> list[str]:
    missing = _core_requirements(identity)
    for check in _activation_checks:
        missing.extend(check(identity))
    return missing
