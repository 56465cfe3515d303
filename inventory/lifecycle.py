"""The identity lifecycle: which transitions exist, and what activation requires.

Other apps extend activation's requirements (the token service adds "a workload
credential") by registering a check here, and react to an identity leaving service
through the `identity_deactivated` signal, sent inside the transition's transaction
so their side effects (revoking tokens) commit with it or not at all.
"""

from collections.abc import Callable
from datetime import timedelta

from django.dispatch import Signal
from django.utils import timezone

from nhiportal.conf import nhi_setting

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
# Receivers answer a dict of what they took ({"tokens_revoked": 3}), counted in the event.
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


def lapse_cutoff(today=None):
    """The latest attestation due date that has lapsed by `today` (overdue past
    NHI_ATTESTATION_GRACE_DAYS): the one rule suspend_unattested, reactivation and the
    compliance control "attested on time" all read."""
    return (today or timezone.localdate()) - timedelta(days=nhi_setting("ATTESTATION_GRACE_DAYS") + 1)


def attestation_lapsed(identity: AIIdentity, today=None) -> bool:
    """Overdue past NHI_ATTESTATION_GRACE_DAYS: what suspend_unattested suspends."""
    return identity.attestation_due is not None and identity.attestation_due <= lapse_cutoff(today)


def missing_for_activation(identity: AIIdentity) -> list[str]:
    missing = _core_requirements(identity)
    for check in _activation_checks:
        missing.extend(check(identity))
    return missing
