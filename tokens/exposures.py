"""Exposure response: a leaked token or key is contained the moment someone reports it.

Tokens drift into logs, notebooks and tickets. Whoever finds one pastes it into the portal:
the portal checks it is one it signed, revokes it and every token exchanged from it, and
records where it was found and for how long it was out (dwell time). Anyone signed in may
report a token, since revoking only takes access away, and a reporter who may not see the
identity learns nothing about it. A platform's token (an agent's way in through a federated
credential) pasted there is never accepted again, and what it obtained is revoked. A token is
taken out of the text around it as logs show it (`Authorization: Bearer eyJ…`, quoted). A
leaked private key is disabled the same way: its owners report it on its credential, and anyone
signed in who finds the key itself (in a public repository, say) pastes it there: the portal
derives its public half, finds the one credential that registered it (a public key is
registered once, ever) and disables it, which revokes the tokens obtained with it.
The leaked secret itself is never stored nor logged: a token is named by its jti, a key by its
credential.

Then people respond: the identity's owners are emailed (manage.py notify_exposures; the
report keeps who was told), and a security admin who confirms the exposure suspends the
identity, which revokes everything it still holds and ends its open tasks; being a security
admin's suspension, it holds until a security admin reactivates it (its owners cannot). One
its owners had suspended already is held the same way, else they could reactivate it minutes
later and undo the response.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from inventory import visibility
from inventory.models import Ownership, Status
from inventory.services import identity_suspend
from nhiportal.conflicts import StateConflict
from nhiportal.audit.models import AuditEvent
from nhiportal.audit.services import actor_label, audit_record
from nhiportal.conf import nhi_setting
from nhiportal.mail import send_claimed_rows
from nhiportal.people.models import TOKEN_PREFIX
from nhiportal.people.services import api_token_exposed
from nhiportal.people.roles import is_security_admin

from .access_tokens import InvalidAccessToken, verify_access_token
from .credentials import credential_disable
from .models import CredentialKind, Exposure, ExposureKind, IssuedToken, UsedAssertion, WorkloadCredential
from .oauth.client_auth import LEEWAY, PlatformToken, platform_token
from .posture import identity_rescore
from .public_keys import looks_private, private_key_thumbprint
from .revocation import Revoked, live_tokens, lock_for_revoking, lock_identity, revoke_matching


_SECRET_SHAPED = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.|" + re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{16,}")
# What is left once the text around a pasted token is taken off: a JWT (an access token or a
# platform's token; verified next) or a personal API token.
_TOKEN_SHAPED = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*|" + re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]+")
# A log's request line: the header's name, then the scheme (RFC 6750 Bearer, RFC 9449 DPoP).
_HEADER_NAME = re.compile(r"^authorization\s*:\s*", re.IGNORECASE)
_SCHEME = re.compile(r"^(?:bearer|dpop)\s+", re.IGNORECASE)
_QUOTES = "\"'`"
NOTHING_FOUND = "No token or key found in what you pasted: paste the token (eyJ… or nhip_…) or the private key as found."
NO_SUCH_KEY = "This private key matches no key registered with the portal, so there is nothing here to disable."


SCANNED_AT_MOST = 4096


# The refusals the service and the API give alike.
CONFIRMERS = {verb: f"Only security admins {verb} exposures." for verb in ("confirm", "dismiss")}


def holds_secret(text: str) -> bool:
    """Whether text holds a JWT, a personal API token or a private key: pasted where the place it
    was found belongs, it must be neither kept nor sent back."""
    text = text or ""
    # Longer than any place a person names: never kept nor sent back, and not scanned either
    # (the JWT shape's search takes quadratic time on some long text).
    if len(text) > SCANNED_AT_MOST:
        return True
    return bool(_SECRET_SHAPED.search(text)) or looks_private(text)


def pasted_token(text: str) -> str:
    """The token in text pasted as a log or a config shows it (`Authorization: Bearer eyJ…`,
    `DPoP eyJ…`, in quotes); "" when what is left is no token's shape."""
    token = (text or "").strip().strip(_QUOTES).strip()
    for prefix in (_HEADER_NAME, _SCHEME):
        token = prefix.sub("", token, count=1).strip().strip(_QUOTES).strip()
    return token if _TOKEN_SHAPED.fullmatch(token) else ""


def _clean(where: str, seen_at, now):
    where = where.strip()
    if not where:
        raise ValidationError({"where_found": "Say where it was found (a file, a log, a ticket, a URL)."})
    if holds_secret(where):
        # It would be kept with the report, in the audit trail and in the owners' email.
        raise ValidationError({"where_found": "Say where it was found, not the secret itself: this field is kept and mailed."})
    seen_at = seen_at or now
    if seen_at > now:
        raise ValidationError({"seen_at": "It cannot have been seen in the future."})
    return where, seen_at


def _record(*, actor, identity_id, kind, where, seen_at, now, was_live, revoked: Revoked, token_jti="", credential=None) -> Exposure:
    exposure = Exposure.objects.create(
        identity_id=identity_id, kind=kind, token_jti=token_jti, credential=credential, where_found=where[:500],
        seen_at=seen_at, reported_by=actor, contained_at=now, was_live=was_live, tokens_revoked=revoked.tokens,
    )
    identity_rescore(identity_id, now=now)  # a policy on principal.risk_score sees the leak now
    audit_record(
        actor=actor, action="exposure.report", obj=exposure, object_repr=f"{exposure.get_kind_display()} exposed",
        identity=identity_id,
        after={"kind": kind, "jti": token_jti, "where_found": where[:500], "seen_at": seen_at, "was_live": was_live,
               **revoked.counts(), "dwell_seconds": int((now - seen_at).total_seconds())},
    )
    return exposure


@dataclass(frozen=True)
class PersonalTokenExposed:
    """A person's API token (nhip_...) reported leaked: revoked, and no identity's exposure."""

    was_live: bool
    tokens_revoked: int
    personal_api_token: bool = True
    kind: str = "personal_api_token"


@transaction.atomic
@sensitive_variables("token")  # innermost: Django hides the locals of the frame it calls
def exposure_report_token(*, actor, token: str, where_found: str, seen_at=None) -> Exposure | PersonalTokenExposed:
    """Revoke a leaked access token (and what was exchanged from it); record the exposure.
    A personal API token pasted here is revoked too (nhiportal/people/services.py), and a
    private key disables the credential that registered it. `token`: the text as pasted."""
    now = timezone.now()
    where, seen_at = _clean(where_found, seen_at, now)
    if looks_private(token):
        try:
            return _report_private_key(actor=actor, text=token, where=where, seen_at=seen_at, now=now)
        except ValidationError as error:
            # Next to the field the key was pasted in, whatever refused it.
            raise ValidationError({"token": error.messages} if not hasattr(error, "error_dict") else error.error_dict) from None
    token = pasted_token(token)
    if not token:
        raise ValidationError({"token": NOTHING_FOUND})
    if token.startswith(TOKEN_PREFIX):
        exposed = api_token_exposed(actor=actor, raw=token, where=where)
        if exposed is None:
            raise ValidationError({"token": "This is not a token the portal issued, so there is nothing here to revoke."})
        return PersonalTokenExposed(was_live=exposed.was_live, tokens_revoked=int(exposed.was_live))
    try:
        claims = verify_access_token(token, verify_exp=False)
    except InvalidAccessToken:
        found = platform_token(token)
        if found is None:
            raise ValidationError({"token": (
                "This is not an access token the portal issued, nor a platform's token for one of its identities, "
                "so there is nothing here to revoke."
            )}) from None
        return _report_platform_token(actor=actor, found=found, where=where, seen_at=seen_at, now=now)
    row = IssuedToken.objects.filter(jti=claims["jti"]).only("pk", "identity_id").first()
    if row is None:
        raise ValidationError({"token": "The portal no longer keeps this token: it expired long ago and left the ledger."})
    # Its holder, and every agent holding a sub-task opened by exchanging it, which ends with it.
    lock_for_revoking([row.identity_id], live_tokens(IssuedToken.objects.filter(pk=row.pk), now))
    live = IssuedToken.objects.filter(pk=row.pk, revoked_at__isnull=True, expires_at__gt=now).exists()
    revoked = revoke_matching(
        IssuedToken.objects.filter(pk=row.pk), label=actor_label(actor), reason=f"Exposed: {where}"[:200], now=now
    )
    return _record(
        actor=actor, identity_id=row.identity_id, kind=ExposureKind.TOKEN, where=where, seen_at=seen_at, now=now,
        was_live=live, revoked=revoked, token_jti=claims["jti"],
    )


def _leeway_from(instant: datetime, sign: int) -> datetime:
    """The instant the leeway after (+1) or before (-1), held to the calendar: a platform may
    set exp to 9999-12-31 or iat to year 1, which no datetime goes past."""
    try:
        return instant + sign * timedelta(seconds=LEEWAY)
    except OverflowError:
        return (datetime.max if sign > 0 else datetime.min).replace(tzinfo=dt_timezone.utc)


def _when(claims: dict, name: str):
    value = claims.get(name)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(value, tz=dt_timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _report_platform_token(*, actor, found: PlatformToken, where: str, seen_at, now) -> Exposure:
    """A platform's token (GitHub Actions, a cluster's) leaked: the portal will not accept it
    again, and revokes what that token obtained (the ledger keeps which platform token each
    access token came from), so the other jobs under a subject ending in * keep theirs. Tokens
    issued before the ledger kept it are taken by their credential and the platform token's
    window, as before. The credential stays: the next job's token is a new one."""
    credential = found.credential
    issued, expires = _when(found.claims, "iat"), _when(found.claims, "exp")
    # Without iat the token endpoint never accepted it: it obtained nothing.
    obtained = IssuedToken.objects.filter(
        Q(platform_token_key=found.leaked_key) | Q(platform_token_key=""),
        credential=credential, issued_at__gte=_leeway_from(issued, -1),
    ) if issued else IssuedToken.objects.none()
    lock_for_revoking([credential.identity_id], live_tokens(obtained, now))
    # After exp (and the leeway) the token endpoint refuses it anyway: nothing to keep out.
    usable_until = _leeway_from(expires, +1) if expires else None
    shut_out = UsedAssertion.objects.filter(key=found.leaked_key).exists()
    live = bool(
        usable_until and usable_until > now and not shut_out and credential.enabled and found.issuer.distrusted_at is None
    )
    if usable_until and usable_until > now and not shut_out:
        UsedAssertion.objects.create(key=found.leaked_key, expires_at=usable_until)
    revoked = revoke_matching(obtained, label=actor_label(actor), reason=f"Exposed: {where}"[:200], now=now)
    jti = found.claims.get("jti")
    return _record(
        actor=actor, identity_id=credential.identity_id, kind=ExposureKind.PLATFORM, where=where, seen_at=seen_at, now=now,
        was_live=live, revoked=revoked, token_jti=jti[:64] if isinstance(jti, str) else "", credential=credential,
    )


@transaction.atomic
def exposure_report_credential(*, actor, credential: WorkloadCredential, where_found: str, seen_at=None) -> Exposure:
    """The private key behind a credential leaked: disable it (revoking its tokens); record the exposure."""
    if not visibility.can(actor, visibility.CHANGE, credential.identity):
        raise PermissionDenied("Only the identity's owners or a security admin report its keys.")
    now = timezone.now()
    where, seen_at = _clean(where_found, seen_at, now)
    return _report_key(actor=actor, credential=credential, where=where, seen_at=seen_at, now=now)


@sensitive_variables("text")
def _report_private_key(*, actor, text: str, where: str, seen_at, now) -> Exposure:
    """A private key found and pasted by anyone signed in: the credential that registered its
    public half is disabled, as its owners' report would. The reporter need not see the
    identity, and is answered as for a token (tokens revoked, nothing of whose it was)."""
    try:
        thumbprint = private_key_thumbprint(
            text, registered=lambda found: WorkloadCredential.objects.filter(kind=CredentialKind.JWK, thumbprint=found).exists(),
        )
    except ValidationError as error:
        raise ValidationError({"token": error.messages}) from None
    # A public key is registered once, ever (tokens/credentials.py), but a version that took the
    # thumbprint of the key as pasted let it be registered again spelled otherwise (migration
    # tokens 0045): every enabled credential of the key goes. With none enabled, the exposure is
    # still recorded against the one that had it.
    held = WorkloadCredential.objects.filter(kind=CredentialKind.JWK, thumbprint=thumbprint or None).order_by("pk")
    credentials = list(held.filter(enabled=True)) or list(held[:1])
    if not credentials:
        raise ValidationError({"token": NO_SUCH_KEY})
    exposures = [_report_key(actor=actor, credential=credential, where=where, seen_at=seen_at, now=now) for credential in credentials]
    return exposures[0]


REPORTED_ALREADY = "This key was reported already and no longer works here: nothing more to do."


def _report_key(*, actor, credential: WorkloadCredential, where: str, seen_at, now) -> Exposure:
    # A key leaked in public can be pasted by anyone, again and again: once it is disabled and
    # on record, another report would only mail its owners and queue work for security again.
    if not credential.enabled and Exposure.objects.filter(credential=credential, kind=ExposureKind.CREDENTIAL).exists():
        raise ValidationError(REPORTED_ALREADY, code="reported_already")
    disabled = credential_disable(actor=actor, credential=credential, reason=f"Exposed: {where}"[:200])
    # Counted only when this call disabled it: one disabled already no longer worked.
    was_live = hasattr(disabled, "tokens_revoked")
    revoked = Revoked(getattr(disabled, "tokens_revoked", 0), getattr(disabled, "tasks_ended", 0))
    return _record(
        actor=actor, identity_id=credential.identity_id, kind=ExposureKind.CREDENTIAL, where=where, seen_at=seen_at,
        now=now, was_live=was_live, revoked=revoked, credential=credential,
    )


def may_confirm(user) -> bool:
    """Who confirms an exposure (and so suspends an identity): security admins."""
    return is_security_admin(user)


@transaction.atomic
def exposure_confirm(*, actor, exposure: Exposure, reason: str) -> Exposure:
    """A security admin confirms the exposure is real: the identity is suspended (revoking
    what it still holds), and held, so only a security admin reactivates it. One its owners
    had suspended already is held too: else they could reactivate it and undo the response.
    Confirmed once. The one exposure.confirm event says what confirming did
    (selectors.exposure_confirm_outcome)."""
    if not may_confirm(actor):
        raise PermissionDenied(CONFIRMERS["confirm"])
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say what confirmed it, for the owners and the audit trail."})
    identity = lock_identity(exposure.identity_id)
    exposure = Exposure.objects.get(pk=exposure.pk)
    _still_open(exposure)
    exposure.confirmed_at, exposure.confirmed_by, exposure.confirm_reason = timezone.now(), actor, reason
    exposure.save(update_fields=["confirmed_at", "confirmed_by", "confirm_reason"])
    why = f"Confirmed exposure #{exposure.pk}: {reason}"[:200]
    outcome = {"suspends_identity": identity.status == Status.ACTIVE, "holds_identity": False, "tokens_revoked": 0, "tasks_ended": 0}
    before = {}
    if outcome["suspends_identity"]:
        identity = identity_suspend(actor=actor, identity=identity, reason=why, hold=True)
        # What the suspension took, as its own event (just written) counts it: tokens/revocation.on_identity_deactivated.
        taken = AuditEvent.objects.filter(
            action="identity.suspend", object_type=identity._meta.label_lower, object_id=str(identity.pk),
        ).order_by("-id").values_list("after", flat=True).first() or {}
        outcome.update(tokens_revoked=taken.get("tokens_revoked", 0), tasks_ended=taken.get("tasks_ended", 0))
    elif identity.status == Status.SUSPENDED and not identity.held_by_security_admin:
        # Suspended by its owners (or housekeeping): their suspension revoked its tokens and
        # ended its tasks already; held now, it stays out of service until a security admin says.
        before = {"identity_held": False, "identity_status_reason": identity.status_reason}
        identity.held_by_security_admin, identity.status_reason = True, why
        identity.version += 1
        identity.updated_at = exposure.confirmed_at
        identity.save(update_fields=["held_by_security_admin", "status_reason", "version", "updated_at"])
        outcome["holds_identity"] = True
    audit_record(
        actor=actor, action="exposure.confirm", obj=exposure, object_repr=f"{exposure.get_kind_display()} exposed",
        identity=identity.pk, before=before or None,
        after={"confirmed_at": exposure.confirmed_at, "identity_status": identity.status, **outcome}, reason=reason,
    )
    return exposure


def _still_open(exposure: Exposure) -> None:
    if exposure.confirmed_at is not None:
        raise StateConflict("This exposure was confirmed already.")
    if exposure.dismissed_at is not None:
        raise StateConflict("This exposure was dismissed already.")


@transaction.atomic
def exposure_dismiss(*, actor, exposure: Exposure, reason: str) -> Exposure:
    """A security admin closes the report without suspending: a false alarm, or handled already
    (the key rotated, say). What the report revoked stays revoked. Closed once."""
    if not may_confirm(actor):
        raise PermissionDenied(CONFIRMERS["dismiss"])
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why no suspension is needed, for the owners and the audit trail."})
    lock_identity(exposure.identity_id)  # as confirming does: the two cannot cross
    exposure = Exposure.objects.get(pk=exposure.pk)
    _still_open(exposure)
    exposure.dismissed_at, exposure.dismissed_by, exposure.dismiss_reason = timezone.now(), actor, reason
    exposure.save(update_fields=["dismissed_at", "dismissed_by", "dismiss_reason"])
    identity_rescore(exposure.identity_id, now=exposure.dismissed_at)
    audit_record(
        actor=actor, action="exposure.dismiss", obj=exposure, object_repr=f"{exposure.get_kind_display()} exposed",
        identity=exposure.identity_id, after={"dismissed_at": exposure.dismissed_at}, reason=reason,
    )
    return exposure


def _owners_to_tell(exposures) -> dict:
    """identity id -> the active owners who can be mailed."""
    owners = {}
    rows = Ownership.objects.filter(
        identity__in={e.identity_id for e in exposures}, person__is_active=True
    ).exclude(person__email="").select_related("person").order_by("person__pk")
    for ownership in rows:
        owners.setdefault(ownership.identity_id, []).append(ownership.person)
    return owners


def _message(exposure: Exposure, base_url: str) -> str:
    credential = exposure.credential
    if exposure.kind == ExposureKind.PLATFORM:
        what = f"a token its platform issued for {credential.subject}" if credential else "a platform's token"
        todo = "Find out how it leaked, and tell your security team."
    elif exposure.kind == ExposureKind.CREDENTIAL:
        # Owners know their credentials by the label they gave (the kid is the agent's, or a thumbprint).
        what = f"the private key of credential {credential}" if credential else "a credential's private key"
        todo = (
            "The credential is disabled: the portal no longer accepts that key. Register a new key pair for the agent "
            "(its public key on the identity's page), find out how the key leaked, and tell your security team."
        )
    else:
        what = f"token {exposure.token_jti[:8]}…" if exposure.token_jti else "a token"
        todo = "Find out how it leaked, rotate the agent's key if it could be the key, and tell your security team."
    return "\n".join([
        f"Someone reported that a credential of {exposure.identity.name} leaked: {exposure.get_kind_display().lower()}, {what}.",
        f"Found in: {exposure.where_found}",
        f"Seen: {exposure.seen_at:%Y-%m-%d %H:%M} UTC; contained by the portal: {exposure.contained_at:%Y-%m-%d %H:%M} UTC.",
        f"Tokens revoked: {exposure.tokens_revoked}.",
        "",
        todo,
        f"{base_url}/exposures/{exposure.pk}/",
    ])


def exposures_notify(*, actor, exposures) -> dict:
    """Email each exposure's identity owners, once per exposure, and keep who was told.

    Exposures are claimed (told_at set) before any mail goes out (nhiportal/mail.py).
    """
    now = timezone.now()
    with transaction.atomic():
        exposures = [e for e in exposures if Exposure.objects.filter(pk=e.pk, told_at__isnull=True).update(told_at=now)]
        owners = _owners_to_tell(exposures)
        for exposure in exposures:
            exposure.told_at = now
            exposure.owners_told = [person.get_username() for person in owners.get(exposure.identity_id, [])]
            exposure.save(update_fields=["owners_told"])
            audit_record(
                actor=actor, action="exposure.notify", obj=exposure, object_repr=f"{exposure.get_kind_display()} exposed",
                identity=exposure.identity_id, after={"owners_told": exposure.owners_told},
            )
    base_url = nhi_setting("ISSUER").rstrip("/")
    mails = [(exposure, person) for exposure in exposures for person in owners.get(exposure.identity_id, [])]
    messages = [
        EmailMessage(
            subject=f"[NHI Portal] A credential of {exposure.identity.name} leaked",
            body=_message(exposure, base_url), to=[person.email],
        )
        for exposure, person in mails
    ]

    def withdraw(error, withdrawn):
        Exposure.objects.filter(pk__in=[e.pk for e in withdrawn]).update(told_at=None, owners_told=[])
        for exposure in withdrawn:
            audit_record(
                actor=actor, action="exposure.notify_failed", obj=exposure, object_repr=f"{exposure.get_kind_display()} exposed",
                identity=exposure.identity_id, after={"owners_told": []}, reason=str(error)[:200],
            )

    send_claimed_rows(messages, rows_of=[[exposure] for exposure, _ in mails], claimed=exposures, withdraw=withdraw)
    return {"exposures": len(exposures), "emails": len(messages)}
