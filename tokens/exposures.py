"""Exposure response: a leaked token or key is contained the moment someone reports it.

Tokens drift into logs, notebooks and tickets. Whoever finds one pastes it into the portal:
the portal checks it is one it signed, revokes it and every token exchanged from it, and
records where it was found and for how long it was out (dwell time). Anyone signed in may
report a token, since revoking only takes access away, and a reporter who may not see the
identity learns nothing about it. A leaked private key is reported by the identity's owners
on its credential: the credential is disabled, which revokes the tokens obtained with it.
The leaked secret itself is never stored: a token is named by its jti.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from inventory import visibility
from nhiportal.audit.services import audit_record

from .access_tokens import InvalidAccessToken, verify_access_token
from .credentials import credential_disable
from .models import Exposure, ExposureKind, IssuedToken, WorkloadCredential
from .revocation import actor_label, lock_identity, revoke_matching


def _clean(where: str, seen_at, now):
    where = where.strip()
    if not where:
        raise ValidationError({"where_found": "Say where it was found (a file, a log, a ticket, a URL)."})
    seen_at = seen_at or now
    if seen_at > now:
        raise ValidationError({"seen_at": "It cannot have been seen in the future."})
    return where, seen_at


def _record(*, actor, identity_id, kind, where, seen_at, now, was_live, revoked, token_jti="", credential=None) -> Exposure:
    exposure = Exposure.objects.create(
        identity_id=identity_id, kind=kind, token_jti=token_jti, credential=credential, where_found=where[:500],
        seen_at=seen_at, reported_by=actor, contained_at=now, was_live=was_live, tokens_revoked=revoked,
    )
    audit_record(
        actor=actor, action="exposure.report", obj=exposure, object_repr=f"{exposure.get_kind_display()} exposed",
        identity=identity_id,
        after={"kind": kind, "jti": token_jti, "where_found": where[:500], "seen_at": seen_at, "was_live": was_live,
               "tokens_revoked": revoked, "dwell_seconds": int((now - seen_at).total_seconds())},
    )
    return exposure


@transaction.atomic
def exposure_report_token(*, actor, token: str, where_found: str, seen_at=None) -> Exposure:
    """Revoke a leaked access token (and what was exchanged from it); record the exposure."""
    now = timezone.now()
    where, seen_at = _clean(where_found, seen_at, now)
    try:
        claims = verify_access_token(token.strip(), verify_exp=False)
    except InvalidAccessToken:
        raise ValidationError({"token": "This is not an access token the portal issued, so there is nothing here to revoke."}) from None
    row = IssuedToken.objects.filter(jti=claims["jti"]).only("pk", "identity_id").first()
    if row is None:
        raise ValidationError({"token": "The portal no longer keeps this token: it expired long ago and left the ledger."})
    lock_identity(row.identity_id)
    live = IssuedToken.objects.filter(pk=row.pk, revoked_at__isnull=True, expires_at__gt=now).exists()
    revoked = revoke_matching(
        IssuedToken.objects.filter(pk=row.pk), label=actor_label(actor), reason=f"Exposed: {where}"[:200], now=now
    )
    return _record(
        actor=actor, identity_id=row.identity_id, kind=ExposureKind.TOKEN, where=where, seen_at=seen_at, now=now,
        was_live=live, revoked=revoked, token_jti=claims["jti"],
    )


@transaction.atomic
def exposure_report_credential(*, actor, credential: WorkloadCredential, where_found: str, seen_at=None) -> Exposure:
    """The private key behind a credential leaked: disable it (revoking its tokens); record the exposure."""
    if not visibility.can(actor, visibility.CHANGE, credential.identity):
        raise PermissionDenied("Only the identity's owners or a security admin report its keys.")
    now = timezone.now()
    where, seen_at = _clean(where_found, seen_at, now)
    was_live = credential.enabled
    disabled = credential_disable(actor=actor, credential=credential, reason=f"Exposed: {where}"[:200])
    revoked = getattr(disabled, "tokens_revoked", 0)  # 0 when it was disabled already
    return _record(
        actor=actor, identity_id=credential.identity_id, kind=ExposureKind.CREDENTIAL, where=where, seen_at=seen_at,
        now=now, was_live=was_live, revoked=revoked, credential=credential,
    )
