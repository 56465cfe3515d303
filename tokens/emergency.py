"""Emergency revoke: every live token of one service, or of every service, at once (security
admins, the page /emergency-revoke/ and the API's emergency-revoke/).

Both ask by the same rule: the scope is chosen, never a default (an on-call who forgot to pick
the service must not end everything), and every service takes a stronger confirmation than one.
Tokens issued after this commits are not affected: to stop an agent, suspend it; to distrust
a signing key, report it compromised. No agent is locked: a token issued while this runs, a
sub-task joined too, may outlive it.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from nhiportal.audit.services import actor_label, audit_record

from .models import IssuedToken, Service
from .revocation import live_tokens, revoke_matching

EVERY_SERVICE = "all"  # the page's choice for every service (a service's is its id)
CONFIRM_ONE = "REVOKE"
CONFIRM_ALL = "REVOKE ALL"


def confirmation_word(service: Service | None) -> str:
    """What the person types to revoke the tokens of `service` (None: every service)."""
    return CONFIRM_ALL if service is None else CONFIRM_ONE


@dataclass(frozen=True)
class EmergencyRevoked:
    service: Service | None
    tokens: int
    identities: int

    @property
    def scope(self) -> str:
        return "every service" if self.service is None else self.service.name


@transaction.atomic
def revoke_in_emergency(*, actor, reason: str, service: Service | None) -> EmergencyRevoked:
    """Revoke every live token of `service`, or of every service when it is None (the caller
    made sure that was chosen, not defaulted to), with what was exchanged from them; their
    sub-tasks opened by exchange end (revocation.revoke_matching), the agents' own tasks go on.
    One event counts the tokens and the identities that held them."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why: the audit trail and every revoked token keep it."})
    tokens = IssuedToken.objects.filter(audience=service.audience) if service is not None else IssuedToken.objects.all()
    # Counted in the same transaction, just before: a token issued between the two is revoked uncounted.
    identities = live_tokens(tokens).values("identity_id").distinct().count()
    revoked = revoke_matching(tokens, label=actor_label(actor), reason=f"Emergency: {reason}")
    audit_record(
        actor=actor, action="tokens.emergency_revoke",
        object_type="tokens.service" if service is not None else "tokens.issuedtoken",
        object_id=str(service.pk) if service is not None else "all",
        object_repr=f"every live token for {service.name}" if service is not None else "every live token",
        after={**revoked.counts(), "identities": identities, "service": service.audience if service is not None else None},
        reason=reason,
    )
    return EmergencyRevoked(service, revoked.tokens, identities)
