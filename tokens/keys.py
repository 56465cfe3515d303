"""The portal's own signing keys: creation, rotation, the JWKS, and the in-process signer.

States: next (published so verifiers can pre-fetch it, not yet signing) -> active (signs)
-> retiring (published until every token it signed has expired) -> retired (gone from
the JWKS). Private parts are encrypted with Fernet under settings.KEY_ENCRYPTION_KEY and
decrypted only into process memory.

Each worker caches the active key object and re-reads which kid is active at most every
SIGNER_RECHECK seconds; issuance also checks, in the statement that locks the identity,
that its key still signs, and switches at once when another process rotated it or reported
it compromised (tokens/issuance.py, _run). A retiring key is retired only after the TTL
ceiling plus RETIRE_MARGIN has passed, so every token it signed can still be verified.
"""

import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from nhiportal.conflicts import StateConflict
from nhiportal.audit.services import actor_label, audit_record, system_actor
from nhiportal.conf import nhi_setting
from nhiportal.encryption import decrypt, encrypt

from .models import IssuedToken, KeyState, SigningKey
from .public_keys import jwk_thumbprint
from .revocation import revoke_matching

SIGNING_ALGORITHMS = ("ES256", "EdDSA")
DEFAULT_ALGORITHM = "ES256"
PUBLISHED_STATES = (KeyState.NEXT, KeyState.ACTIVE, KeyState.RETIRING)
SIGNER_RECHECK = 5.0  # seconds
VERIFIER_RECHECK = 60.0  # seconds: a key retired early stops verifying within this
RETIRE_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class Signer:
    kid: str
    alg: str
    private_key: object


def _generate(alg: str):
    if alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        public_jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    elif alg == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
        public_jwk = OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
    else:
        raise ValueError(f"Signing algorithm must be one of {', '.join(SIGNING_ALGORITHMS)}")
    kid = jwk_thumbprint(public_jwk)
    public_jwk.update(kid=kid, alg=alg, use="sig")
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return kid, public_jwk, encrypt(der)


def _decrypt(key: SigningKey):
    der = decrypt(key.private_key_encrypted)
    return serialization.load_der_private_key(der, password=None)


def _new_key(alg: str, state: str, now) -> SigningKey:
    kid, public_jwk, encrypted = _generate(alg)
    key = SigningKey(kid=kid, alg=alg, public_jwk=public_jwk, private_key_encrypted=encrypted, state=state)
    if state == KeyState.ACTIVE:
        key.activated_at = now
    key.full_clean()
    key.save()
    return key


def _summary(key: SigningKey | None) -> dict | None:
    return None if key is None else {"kid": key.kid, "alg": key.alg, "state": key.state}


@transaction.atomic
def signing_key_create(*, actor, alg: str = DEFAULT_ALGORITHM) -> SigningKey:
    """Add a `next` key: published for pre-fetch, signing from the next rotation."""
    if alg not in SIGNING_ALGORITHMS:
        raise ValueError(f"Signing algorithm must be one of {', '.join(SIGNING_ALGORITHMS)}")
    # The next key it replaces leaves the JWKS unused: the event names it, so the trail shows
    # which published key went, and why.
    replaced = [key.kid for key in _lock_unretired() if key.state == KeyState.NEXT]
    SigningKey.objects.filter(kid__in=replaced).update(state=KeyState.RETIRED, retired_at=timezone.now())
    key = _new_key(alg, KeyState.NEXT, timezone.now())
    audit_record(
        actor=actor, action="signing_key.create", obj=key, before={"next": replaced} if replaced else None,
        after={**_summary(key), **({"retired": replaced} if replaced else {})},
    )
    return key


def _lock_unretired() -> list[SigningKey]:
    """Every key not retired, locked, as it is once the lock is held (oldest first, the order
    every writer of keys locks in). Read twice: a statement waiting for a row lock still reads
    as of its start (READ COMMITTED), so a rotation that committed meanwhile would leave the new
    next key it made unseen and this one would promote, or publish, another beside it."""
    unretired = SigningKey.objects.select_for_update().exclude(state=KeyState.RETIRED).order_by("created_at")
    list(unretired.values_list("pk", flat=True))
    return list(unretired)


def _retire_due(now) -> list[str]:
    """Retiring keys whose every token has expired leave the JWKS."""
    cutoff = now - timedelta(seconds=nhi_setting("TOKEN_TTL_CEILING")) - RETIRE_MARGIN
    due = list(SigningKey.objects.filter(state=KeyState.RETIRING, retiring_at__lte=cutoff).values_list("kid", flat=True))
    if due:
        SigningKey.objects.filter(kid__in=due).update(state=KeyState.RETIRED, retired_at=now)
    return due


@transaction.atomic
def signing_keys_rotate(*, actor, alg: str | None = None) -> SigningKey:
    """Promote the next key to active, demote the active one to retiring, prepare a new next
    of `alg` (by default the algorithm of the key promoted).

    The key promoted is always the one the JWKS has published since the last rotation, so
    verifiers that refresh on the JWKS's schedule hold it before its first token; a change of
    algorithm therefore takes two rotations: the first publishes a key of the new algorithm,
    the second makes it sign. Only when no next key exists is a new one made to sign at once.

    Returns the new active key. Retiring keys old enough to have outlived every token
    they signed are retired in the same step.
    """
    now = timezone.now()
    keys = {k.state: k for k in _lock_unretired()}
    old_active, promoted = keys.get(KeyState.ACTIVE), keys.get(KeyState.NEXT)
    latest = promoted or old_active
    alg = alg or (latest.alg if latest else DEFAULT_ALGORITHM)
    if alg not in SIGNING_ALGORITHMS:
        raise ValueError(f"Signing algorithm must be one of {', '.join(SIGNING_ALGORITHMS)}")
    retired = _retire_due(now)
    if old_active is not None:
        old_active.state = KeyState.RETIRING
        old_active.retiring_at = now
        old_active.save(update_fields=["state", "retiring_at"])
    if promoted is None:
        promoted = _new_key(alg, KeyState.NEXT, now)
    promoted.state = KeyState.ACTIVE
    promoted.activated_at = now
    promoted.save(update_fields=["state", "activated_at"])
    upcoming = _new_key(alg, KeyState.NEXT, now)
    audit_record(
        actor=actor,
        action="signing_key.rotate",
        obj=promoted,
        before={"active": _summary(old_active)},
        after={"active": promoted.kid, "next": upcoming.kid, "retired": retired},
    )
    # Forget now (this process signs with the new key from its next token) and again on commit,
    # in case a token was signed in between with the key this transaction just demoted.
    signer_cache_clear()
    transaction.on_commit(signer_cache_clear)
    return promoted


def rotated_message(key: SigningKey, alg: str | None) -> str:
    """What the rotation did, for the page and the command: which key signs now, and when an
    algorithm asked for that is not the signing one's takes over."""
    said = f"Rotated: {key.kid[:12]}… ({key.alg}) signs now; the previous key stays published until its tokens expire."
    if alg and alg != key.alg:
        said += f" The next key, published from now, is {alg}: it signs from the next rotation, once verifiers hold it."
    return said


@transaction.atomic
def signing_key_compromised(*, actor, key: SigningKey, reason: str) -> int:
    """A signing key's private part leaked: unpublish it now, and revoke every live token it
    signed, what was exchanged from them and the sub-tasks those exchanges opened (whose agents
    are not locked, as for an emergency: tokens/emergency.revoke_in_emergency). If it was signing, the published next key takes
    over (verifiers hold it already) and a new next key is published; if it was the next key,
    a new one replaces it. Returns the number of tokens revoked.

    Issuance checks under its own lock that its key still signs (tokens/issuance.py), so no
    token is signed with this key once this commits. Offline verifiers drop it when they next
    fetch the JWKS (within their cache age); introspection refuses its tokens at once."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say how the key was exposed: the audit trail keeps it."})
    now = timezone.now()
    key = SigningKey.objects.select_for_update().filter(pk=key.pk).exclude(state=KeyState.RETIRED).first()
    if key is None:
        raise StateConflict("This key is retired already: nothing verifies with it any more.")
    before = key.state
    key.state, key.retired_at = KeyState.RETIRED, now
    key.compromised_at, key.compromised_by_label, key.compromise_reason = now, actor_label(actor)[:200], reason[:200]
    # Retired before the next key is promoted: only one key may be active.
    key.save(update_fields=["state", "retired_at", "compromised_at", "compromised_by_label", "compromise_reason"])
    promoted = upcoming = None
    if before == KeyState.ACTIVE:
        # Read after the lock above, so a rotation that committed meanwhile is seen as it is.
        promoted = SigningKey.objects.select_for_update().filter(state=KeyState.NEXT).first()
        if promoted is None:
            promoted = _new_key(key.alg, KeyState.NEXT, now)
        promoted.state, promoted.activated_at = KeyState.ACTIVE, now
        promoted.save(update_fields=["state", "activated_at"])
    if before in (KeyState.ACTIVE, KeyState.NEXT):
        upcoming = _new_key(promoted.alg if promoted else key.alg, KeyState.NEXT, now)
    revoked = revoke_matching(
        IssuedToken.objects.filter(signing_kid=key.kid), label=actor_label(actor), reason=f"Signing key compromised: {reason}", now=now,
    )
    key.compromise_tokens_revoked = revoked.tokens
    key.save(update_fields=["compromise_tokens_revoked"])
    audit_record(
        actor=actor,
        action="signing_key.compromised",
        obj=key,
        before={"state": before},
        after={
            "state": KeyState.RETIRED, **revoked.counts(),
            "active": promoted.kid if promoted else None, "next": upcoming.kid if upcoming else None,
        },
        reason=reason,
    )
    signer_cache_clear()
    transaction.on_commit(signer_cache_clear)
    return revoked.tokens


@transaction.atomic
def signing_keys_retire_due(*, actor) -> list[str]:
    """Retire the retiring keys that can no longer have a live token (for the scheduled sweep)."""
    retired = _retire_due(timezone.now())
    if retired:
        audit_record(
            actor=actor, action="signing_key.retire", object_type="tokens.signingkey",
            object_id=retired[0], object_repr=", ".join(retired)[:200], after={"retired": retired},
        )
    return retired


def published_jwks() -> dict:
    """The JWKS document: next, active and retiring keys, public parts only."""
    keys = SigningKey.objects.filter(state__in=PUBLISHED_STATES).order_by("-created_at").values_list("public_jwk", flat=True)
    return {"keys": list(keys)}


class _SignerCache:
    def __init__(self):
        self.lock = threading.Lock()
        self.signer: Signer | None = None
        self.checked_at = 0.0
        self.verifiers: dict[str, tuple[str, object, float]] = {}

    def clear(self):
        with self.lock:
            self.signer, self.checked_at = None, 0.0
            self.verifiers = {}


_cache = _SignerCache()


def signer_cache_clear() -> None:
    _cache.clear()


def _ensure_active_key() -> SigningKey:
    """First run: no key signs yet, so make one, and publish the next beside it, so that the
    first rotation promotes a key verifiers already hold. Two workers racing: one insert wins."""
    try:
        with transaction.atomic():
            now = timezone.now()
            key = _new_key(DEFAULT_ALGORITHM, KeyState.ACTIVE, now)
            if not SigningKey.objects.filter(state=KeyState.NEXT).exists():
                _new_key(DEFAULT_ALGORITHM, KeyState.NEXT, now)
            audit_record(
                actor=system_actor("signing-keys"), action="signing_key.create", obj=key,
                after=_summary(key), reason="No active signing key: created on first use, with the next one published.",
            )
            return key
    except IntegrityError:
        return SigningKey.objects.get(state=KeyState.ACTIVE)


def active_signer() -> Signer:
    """The key that signs now, decrypted once per process and re-checked every few seconds."""
    now = time.monotonic()
    signer = _cache.signer
    if signer is not None and now - _cache.checked_at < SIGNER_RECHECK:
        return signer
    with _cache.lock:
        row = SigningKey.objects.filter(state=KeyState.ACTIVE).values_list("kid", flat=True).first()
        if signer is None or row != signer.kid:
            key = SigningKey.objects.filter(state=KeyState.ACTIVE).first() or _ensure_active_key()
            signer = Signer(kid=key.kid, alg=key.alg, private_key=_decrypt(key))
            _cache.signer = signer
        _cache.checked_at = now
        return signer


def verification_key(kid: str) -> tuple[str, object] | None:
    """(alg, public key) for one of the portal's published keys, or None for any other kid."""
    now = time.monotonic()
    entry = _cache.verifiers.get(kid)
    if entry is not None and now - entry[2] < VERIFIER_RECHECK:
        return entry[0], entry[1]
    row = SigningKey.objects.filter(kid=kid, state__in=PUBLISHED_STATES).values_list("alg", "public_jwk").first()
    with _cache.lock:
        verifiers = {k: v for k, v in _cache.verifiers.items() if k != kid}
        if row is not None:
            alg, jwk = row
            loader = ECAlgorithm if alg == "ES256" else OKPAlgorithm
            verifiers[kid] = (alg, loader.from_jwk(jwk), now)
        _cache.verifiers = verifiers
    return None if row is None else verifiers[kid][:2]
