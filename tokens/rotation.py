"""Agents' keys rotate: a public key registered long ago is a long-lived secret (OWASP NHI7).

The private half never reaches the portal, so the portal cannot rotate it: the agent's owner
adds a new public key, moves the agent to it, then disables the old one (the credentials panel
keeps both enabled meanwhile). The portal says which keys are due: an enabled public key older
than NHI_CREDENTIAL_MAX_AGE_DAYS (WorkloadCredential.rotation_due), on the identity page, in
the API, in the compliance control NHIP-18, and by mail: `manage.py notify_credential_rotation`
(daily, a step of the sweep) tells the identity's active owners once per key. Keys are claimed
(rotation_told_at) before any mail goes out; if the mail server refuses, the claims are
withdrawn and the next run tries again.
"""

from datetime import timedelta

from django.core.checks import Error, register
from django.utils import timezone

from nhiportal.conf import nhi_setting

from .models import CredentialKind, WorkloadCredential
from .owner_notices import OwnerNotice, digest


def max_age_days() -> int:
    return nhi_setting("CREDENTIAL_MAX_AGE_DAYS")


def due_for_rotation(now=None):
    """Enabled public keys older than the maximum age (offboarding disables an identity's
    credentials, so these belong to identities still in service)."""
    now = now or timezone.now()
    return WorkloadCredential.objects.filter(kind=CredentialKind.JWK, enabled=True, created_at__lt=now - timedelta(days=max_age_days()))


NOTICE = OwnerNotice(
    model=WorkloadCredential, told_field="rotation_told_at", action="credentials.notify_rotation",
    object_type="tokens.workloadcredential", object_id="credentials", object_repr="key rotation notices", noun="credentials",
)


def credential_rotation_notify(*, actor, now=None) -> dict:
    now = now or timezone.now()
    due = due_for_rotation(now).filter(rotation_told_at__isnull=True).select_related("identity").order_by("created_at")
    days = max_age_days()
    body = digest(
        lambda keys: (
            f"{len(keys)} public key{'s' if len(keys) != 1 else ''} of agents you own {'are' if len(keys) != 1 else 'is'} "
            f"older than {days} days. Rotate: add a new public key, move the agent to it, then disable the old one."
        ),
        lambda c: (f"{c.identity.name}: key {c.label or c.kid}, added {c.created_at:%Y-%m-%d}", "", f"/identities/{c.identity_id}/#credentials"),
    )
    return NOTICE.run(
        actor=actor, now=now, due=due, body=body,
        subject=lambda mine: f"[NHI Portal] {len(mine)} agent key{'s are' if len(mine) != 1 else ' is'} due for rotation",
    )


@register()
def credential_max_age(app_configs, **kwargs):
    if max_age_days() < 1:
        return [Error("NHI_CREDENTIAL_MAX_AGE_DAYS must be at least 1 (days).", id="tokens.E002")]
    return []
