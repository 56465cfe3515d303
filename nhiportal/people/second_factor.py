"""A second factor for password sign-in (NIST SP 800-63B, AAL2): an authenticator app
(TOTP, RFC 6238, computed by pyotp) and ten single-use recovery codes.

A person enrols from their account; the roles in settings.MFA_REQUIRED_ROLES (security admins
by default) must, and are sent to enrol until they have. Sign-ins through single sign-on rely
on the provider's own second factor.
"""

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

import pyotp
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from nhiportal.conflicts import StateConflict
from nhiportal.audit.services import audit_record
from nhiportal.encryption import decrypt, encrypt

from .models import RecoveryCode, SecondFactor
from .roles import is_security_admin, roles_of

ISSUER_NAME = "NHI Portal"
RECOVERY_CODES = 10
# A code of the step before or after the current one is accepted: clocks drift, people type slowly.
STEP_TOLERANCE = 1
# Session keys: the person who gave the right password and owes a code, and that this
# session's sign-in passed a second factor (or single sign-on, which brings the provider's).
PENDING_KEY = "second_factor_pending"
VERIFIED_KEY = "second_factor_verified"
PENDING_SECONDS = 300
MAX_WRONG_CODES = 5  # in one sign-in: then the password again
WRONG_CODES_IN_A_ROW = 20  # across sign-ins: then no code is taken for a while
# The first lock; each next one with no right code between lasts twice as long (15 minutes, 30,
# 60, ...), so the 100th wrong code in a row (NIST SP 800-63B 5.2.2's limit) comes no sooner than
# about four hours in, the 200th some five days, the 300th some half a year.
LOCK_MINUTES = 15
MAX_DOUBLINGS = 20  # some 30 years: far past any guessing, short of the calendar's end


def lock_minutes(locks_in_a_row: int) -> int:
    """How long the nth lock in a row lasts (n from 1)."""
    return LOCK_MINUTES * 2 ** min(max(locks_in_a_row, 1) - 1, MAX_DOUBLINGS)


def encrypt_secret(secret: str) -> bytes:
    return encrypt(secret.encode())


def decrypt_secret(encrypted: bytes) -> str:
    return decrypt(encrypted).decode()


def required_for(user) -> bool:
    return bool(roles_of(user) & set(settings.MFA_REQUIRED_ROLES))


def token_lacks_second_factor(token) -> bool:
    """A personal API token made without a second factor, held by someone whose role needs one
    (given since, or needing one since): refused until they make a new one, signed in with it."""
    return not token.made_with_second_factor and required_for(token.user)


TOKEN_LACKS_SECOND_FACTOR = (
    "This token was made without a second factor, and your role requires one: "
    "sign in with your authenticator app and make a new token."
)


def has_second_factor(user) -> bool:
    return SecondFactor.objects.filter(user=user).exists()


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, user) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.get_username(), issuer_name=ISSUER_NAME)


def _matching_step(secret: str, code: str, after_step: int) -> int | None:
    """The time step (later than after_step) whose code this is, if any."""
    code = "".join(code.split())
    if not (code.isascii() and code.isdigit() and len(code) == 6):  # isdigit alone takes "²", which compare_digest refuses
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(timezone.now())
    for step in range(now - STEP_TOLERANCE, now + STEP_TOLERANCE + 1):
        if step > after_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _hash_recovery_code(code: str) -> str:
    return hashlib.sha256("".join(code.split()).replace("-", "").upper().encode()).hexdigest()


def _new_recovery_codes(user) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode()  # 80 bits, 16 characters
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
    RecoveryCode.objects.bulk_create(RecoveryCode(user=user, code_hash=_hash_recovery_code(code)) for code in codes)
    return codes


@transaction.atomic
def second_factor_enrol(*, user, secret: str, code: str) -> list[str]:
    """Keep the app whose code proves it holds the secret (replacing any app before it), and
    return new recovery codes, shown once."""
    step = _matching_step(secret, code, after_step=0)
    if step is None:
        raise ValidationError({"code": "That code does not match. Enter the six digits the app shows now."})
    replacing = SecondFactor.objects.filter(user=user).delete()[0] > 0
    SecondFactor.objects.create(user=user, secret_encrypted=encrypt_secret(secret), last_used_step=step)
    codes = _new_recovery_codes(user)
    audit_record(
        actor=user, action="person.second_factor_enrolled", obj=user, object_repr=user.get_username(),
        after={"method": "authenticator app", "replaced_previous": replacing, "recovery_codes": RECOVERY_CODES},
    )
    return codes


@transaction.atomic
def second_factor_check(*, user, code: str) -> bool:
    """Whether the code is the app's current one, not used before, or an unused recovery code
    (which is then spent, and written to the audit log: the app may be lost)."""
    factor = SecondFactor.objects.select_for_update().filter(user=user).first()
    if factor is None:
        return False
    now = timezone.now()
    if factor.locked_until and factor.locked_until > now:
        return False  # not even the right code: guessing must not learn which one it was
    step = _matching_step(decrypt_secret(factor.secret_encrypted), code, after_step=factor.last_used_step)
    if step is not None:
        factor.last_used_step, factor.wrong_codes, factor.locks_in_a_row = step, 0, 0
        factor.save(update_fields=["last_used_step", "wrong_codes", "locks_in_a_row"])
        return True
    spent = RecoveryCode.objects.filter(user=user, code_hash=_hash_recovery_code(code), used_at__isnull=True).update(used_at=now)
    if spent:
        factor.wrong_codes, factor.locks_in_a_row = 0, 0
        factor.save(update_fields=["wrong_codes", "locks_in_a_row"])
        left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
        audit_record(actor=user, action="person.recovery_code_used", obj=user, object_repr=user.get_username(), after={"recovery_codes_left": left})
        return True
    factor.wrong_codes += 1
    if factor.wrong_codes >= WRONG_CODES_IN_A_ROW:
        # The count starts again, the lock does not: the next twenty wrong codes lock it twice as long.
        factor.locks_in_a_row += 1
        minutes = lock_minutes(factor.locks_in_a_row)
        factor.wrong_codes, factor.locked_until = 0, now + timedelta(minutes=minutes)
        audit_record(
            actor=user, action="person.second_factor_locked", obj=user, object_repr=user.get_username(),
            after={
                "wrong_codes_in_a_row": WRONG_CODES_IN_A_ROW, "locks_in_a_row": factor.locks_in_a_row,
                "lock_minutes": minutes, "locked_until": factor.locked_until,
            },
        )
    factor.save(update_fields=["wrong_codes", "locked_until", "locks_in_a_row"])
    return False


def second_factor_locked_until(user):
    """Until when the person's app takes no code (too many wrong ones in a row), or None."""
    return SecondFactor.objects.filter(user=user, locked_until__gt=timezone.now()).values_list("locked_until", flat=True).first()


def recovery_codes_left(user) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


@transaction.atomic
def second_factor_remove(*, person, actor, reason: str = ""):
    """Remove a person's app and recovery codes: themselves (when no role requires one), or a
    security admin for someone who lost theirs (never their own: another admin does that)."""
    if actor.pk != person.pk and not is_security_admin(actor):
        raise PermissionDenied
    if actor.pk == person.pk and required_for(person):
        raise ValidationError("Your role requires a second factor: replace the app instead of removing it.")
    if actor.pk != person.pk and not reason.strip():
        raise ValidationError({"reason": "Say why the second factor is reset."})
    removed = SecondFactor.objects.filter(user=person).delete()[0]
    RecoveryCode.objects.filter(user=person).delete()
    if not removed:
        raise StateConflict("There is no second factor to remove.")
    audit_record(
        actor=actor, action="person.second_factor_removed", obj=person, object_repr=person.get_username(),
        before={"method": "authenticator app"}, reason=reason.strip(),
    )
    return person

