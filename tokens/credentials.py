"""Workload credentials: how an identity proves itself at the token endpoint.

A public JWK (the agent signs RFC 7523 client assertions with the private half, which the
portal never sees), a SPIFFE ID under a registered trust domain (the agent presents a
JWT-SVID), or the subject of a federated issuer's workload tokens (the agent presents the
token its platform gave it: tokens/federation.py). Several may be enabled at once so keys
can rotate without downtime.

A public key is registered once, ever: one any credential held, even one disabled since (its
private half may have leaked, which is why keys get disabled), is refused on every identity.
A SPIFFE ID or a federated subject names a workload, not a secret: once its credential is
disabled it may be registered again (the workload moves to a new identity, or was disabled by
mistake), since what proves it is a short-lived token its platform signs, not a key it keeps.
"""

import hashlib
import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.models import AIIdentity
from nhiportal.audit.services import actor_label, audit_record
from nhiportal.conflicts import StateConflict

from .federation import WILDCARD, subject_check, subject_prefix, subjects_overlap
from .models import CredentialKind, FederatedIssuer, IssuedToken, TrustDomain, WorkloadCredential
from .public_keys import parse_public_jwk
from .revocation import live_tokens, lock_for_revoking, lock_identity, revoke_matching

SPIFFE_ID = re.compile(r"^spiffe://([a-z0-9._\-]{1,255})(/[A-Za-z0-9._\-/]*)?$")
NO_CREDENTIAL = "a workload credential"
# Checked by client authentication itself, so a federated credential cannot pin them.
REGISTERED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})
MAX_REQUIRED_CLAIMS = 10
KEY_USED_BEFORE = (
    "This key was registered before and has been disabled: a key once registered is never taken "
    "again, on any identity. Generate a new key pair and register its public key."
)


def credential_activation_check(identity: AIIdentity) -> list[str]:
    """Registered with inventory.lifecycle: activation needs an enabled credential."""
    return [] if identity.credentials.filter(enabled=True).exists() else [NO_CREDENTIAL]


def _usable_identity(identity: AIIdentity) -> AIIdentity:
    identity = lock_identity(identity.pk)
    if identity.is_offboarded:
        raise StateConflict("An offboarded identity cannot get new credentials.")
    return identity


def _hold_key(thumbprint: str) -> None:
    """Until the caller's transaction ends, no other registration of this key checks or writes:
    two owners pasting the same key at once would each find it free, and both keep it. SQLite
    needs no more: its IMMEDIATE transaction already holds the one write lock."""
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"credential-key:{thumbprint}".encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _save(credential: WorkloadCredential, field: str, message: str) -> None:
    credential.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            credential.save()
    except IntegrityError:
        raise ValidationError({field: message}) from None


def _snapshot(credential: WorkloadCredential) -> dict:
    facts = {
        "kind": credential.kind,
        "label": credential.label,
        "kid": credential.kid,
        "thumbprint": credential.thumbprint,
        "spiffe_id": credential.spiffe_id,
        "issuer": credential.federated_issuer.issuer if credential.federated_issuer_id else "",
        "subject": credential.subject,
        "required_claims": credential.required_claims,
    }
    return {name: value for name, value in facts.items() if value}


def _attach(*, actor, identity: AIIdentity, label: str, field: str, taken: str, **fields) -> WorkloadCredential:
    """Lock the identity, add the credential and audit it; `taken` is what a clash with an
    enabled credential says, next to `field`."""
    credential = WorkloadCredential(
        identity=_usable_identity(identity), label=label.strip(), created_by=actor if getattr(actor, "pk", None) else None, **fields,
    )
    _save(credential, field, taken)
    audit_record(actor=actor, action="credential.add", obj=credential, after=_snapshot(credential))
    return credential


@transaction.atomic
def credential_add_jwk(*, actor, identity: AIIdentity, jwk, label: str = "") -> WorkloadCredential:
    """Attach a public JWK. A private key is refused (and not stored); the kid defaults to the thumbprint."""
    try:
        key = parse_public_jwk(jwk)
    except ValidationError as e:
        raise ValidationError({"jwk": e.error_list}) from None
    identity = _usable_identity(identity)
    credential = WorkloadCredential(
        identity=identity,
        kind=CredentialKind.JWK,
        label=label.strip(),
        kid=key.kid or key.thumbprint,
        public_jwk={**key.jwk, "kid": key.kid or key.thumbprint},
        thumbprint=key.thumbprint,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    # By thumbprint (RFC 7638), so a new kid, other members or PEM instead of JWK change nothing.
    _hold_key(key.thumbprint)
    held = WorkloadCredential.objects.filter(kind=CredentialKind.JWK, thumbprint=key.thumbprint)
    in_use = held.filter(enabled=True)
    if in_use.filter(identity=identity).exists():
        raise ValidationError({"jwk": "This key is already registered for this identity."})
    if in_use.exists():
        # NHI reuse: tokens of two identities sharing a key could not be told apart. Which
        # identity holds it is not said: the person registering may not see that one.
        raise ValidationError({"jwk": "This key is registered to another identity; give each agent a key pair of its own."})
    if held.exists():
        # A key is disabled because it leaked, was lost or was rotated out: its private half may
        # be in someone else's hands, so taking it back (on any identity) would hand them tokens
        # again. Nor is it said where it was, for the same reason as above.
        raise ValidationError({"jwk": KEY_USED_BEFORE})
    _save(credential, "jwk", f"This identity already has a key with kid {credential.kid!r}; give the new key another kid.")
    audit_record(actor=actor, action="credential.add", obj=credential, after=_snapshot(credential))
    return credential


@transaction.atomic
def credential_add_spiffe(*, actor, identity: AIIdentity, spiffe_id: str, label: str = "") -> WorkloadCredential:
    """Attach a SPIFFE ID; its trust domain must be registered so its JWT-SVIDs can be verified."""
    spiffe_id = (spiffe_id or "").strip()
    match = SPIFFE_ID.match(spiffe_id)
    if not match:
        raise ValidationError({"spiffe_id": "A SPIFFE ID looks like spiffe://trust-domain/path/to/workload."})
    # Locked before the identity, as tokens/distrust.py locks them: trust cannot end meanwhile.
    domain = TrustDomain.objects.select_for_update().filter(name=match.group(1)).first()
    if domain is None:
        raise ValidationError({"spiffe_id": f"The trust domain {match.group(1)!r} is not registered; ask a security admin to add it."})
    if domain.distrusted_at:
        # A state, not bad input: trusting the domain again makes the same request succeed.
        raise StateConflict({"spiffe_id": f"The trust domain {domain.name!r} is no longer trusted: {domain.distrust_reason}"})
    return _attach(
        actor=actor, identity=identity, label=label, field="spiffe_id", taken="This SPIFFE ID is already in use by an enabled credential.",
        kind=CredentialKind.SPIFFE, spiffe_id=spiffe_id, trust_domain=domain,
    )


def required_claims_from(value) -> dict[str, str]:
    """Other claims a federated token must carry, exactly: a JSON object of strings, or
    name=value lines as the form takes them."""
    if isinstance(value, str):
        pairs = [line.split("=", 1) for line in value.splitlines() if line.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ValidationError({"required_claims": "Write one claim a line, as name=value."})
        value = {name.strip(): text.strip() for name, text in pairs}
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValidationError({"required_claims": "Give the claims as names and string values."})
    if len(value) > MAX_REQUIRED_CLAIMS:
        raise ValidationError({"required_claims": f"At most {MAX_REQUIRED_CLAIMS} claims."})
    for name, text in value.items():
        if name in REGISTERED_CLAIMS:
            raise ValidationError({"required_claims": f"{name!r} is checked already; name other claims, e.g. repository_owner."})
        if not name or len(name) > 100 or not text or len(text) > 255:
            raise ValidationError({"required_claims": "Each claim needs a name (up to 100 characters) and a value (up to 255)."})
    return value


@transaction.atomic
def credential_add_federated(
    *, actor, identity: AIIdentity, federated_issuer: FederatedIssuer, subject: str, required_claims=None, label: str = "",
) -> WorkloadCredential:
    """Let the identity present its platform's workload token: one from this issuer whose sub is
    this subject and whose other claims are as required."""
    subject = (subject or "").strip()
    if not subject or len(subject) > 255:
        raise ValidationError({"subject": "Give the sub the tokens carry, e.g. repo:acme/agents:environment:production."})
    claims = required_claims_from(required_claims)
    federated_issuer = FederatedIssuer.objects.select_for_update().get(pk=federated_issuer.pk)  # as for a trust domain
    if federated_issuer.distrusted_at:
        raise StateConflict({"federated_issuer": f"{federated_issuer.name} is no longer trusted: {federated_issuer.distrust_reason}"})
    subject_check(subject)
    # Each token leads to one identity: no other identity's subject may match a token this one
    # matches. Checked under the issuer's lock, so two owners cannot both pass at once.
    others = WorkloadCredential.objects.filter(
        kind=CredentialKind.FEDERATED, federated_issuer=federated_issuer, enabled=True
    ).exclude(identity_id=identity.pk)
    prefix = subject_prefix(subject)
    candidates = others.filter(subject__endswith=WILDCARD) | (others.filter(subject__startswith=prefix) if prefix else others.none())
    if any(subjects_overlap(subject, other) for other in candidates.values_list("subject", flat=True)):
        raise ValidationError({"subject": "A token for this subject could also be one for a subject already in use by an enabled credential: each token must lead to one identity."})
    # Which identity holds it is not said: the person registering may not see that one.
    return _attach(
        actor=actor, identity=identity, label=label, field="subject", taken="This issuer's subject is already in use by an enabled credential.",
        kind=CredentialKind.FEDERATED, federated_issuer=federated_issuer, subject=subject, required_claims=claims,
    )


@transaction.atomic
def credential_disable(*, actor, credential: WorkloadCredential, reason: str = "") -> WorkloadCredential:
    """Stop accepting a credential; the live tokens obtained with it are revoked now, with what
    came from them: the tokens exchanged from them and the sub-tasks those exchanges opened."""
    obtained = IssuedToken.objects.filter(credential_id=credential.pk)
    lock_for_revoking([credential.identity_id], live_tokens(obtained))
    credential = WorkloadCredential.objects.get(pk=credential.pk)
    if not credential.enabled:
        return credential
    label = actor_label(actor)
    reason = reason.strip() or "Credential disabled."
    credential.enabled = False
    credential.disabled_at = timezone.now()
    credential.disabled_by_label = label[:200]
    credential.disable_reason = reason[:200]
    credential.save(update_fields=["enabled", "disabled_at", "disabled_by_label", "disable_reason"])
    revoked = revoke_matching(obtained, label=label, reason=f"Credential disabled: {reason}"[:200])
    audit_record(
        actor=actor, action="credential.disable", obj=credential,
        before={"enabled": True}, after={"enabled": False, **revoked.counts()}, reason=reason,
    )
    # For callers that report them (an exposure, distrust, the page's message).
    credential.tokens_revoked, credential.tasks_ended = revoked.tokens, revoked.tasks_ended
    return credential
