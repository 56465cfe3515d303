"""Stop trusting a trust domain or a federated issuer: the response to a compromised workload
platform (a SPIRE server's signing key copied, a cluster's service account key leaked, a CI
provider breached).

Whoever holds such a platform's signing key can mint an SVID or a workload token for any of
its workloads, so every identity that trusts it is exposed at once. Stopping trust refuses
its tokens from the next request, disables every enabled credential under it (each revoking
the live tokens obtained with it, as disabling one by hand does) and keeps new credentials
from naming it. Trusting it again enables nothing: the owners add their credentials again,
once the platform is sound.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from nhiportal.conflicts import StateConflict
from nhiportal.audit.services import actor_label, audit_record

from .credentials import credential_disable
from .models import FederatedIssuer, IssuedToken, TrustDomain, WorkloadCredential, WorkloadPlatform
from .owner_notices import OwnerNotice, digest
from .revocation import Revoked, live_tokens, lock_for_revoking

_ACTIONS = {TrustDomain: "trust_domain", FederatedIssuer: "federated_issuer"}


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why, for the owners whose credentials this disables."})
    return reason[:200]


@transaction.atomic
def trust_end(*, actor, holder: WorkloadPlatform, reason: str):
    """Refuse the holder's tokens, and disable every enabled credential that names it."""
    reason = _reason(reason)
    model = type(holder)
    held = model.objects.select_for_update().get(pk=holder.pk)
    if held.distrusted_at:
        raise StateConflict(f"{held.name} is not trusted already.")
    held.distrusted_at, held.distrusted_by_label, held.distrust_reason = timezone.now(), actor_label(actor)[:200], reason
    held.save(update_fields=["distrusted_at", "distrusted_by_label", "distrust_reason"])
    enabled = held.credentials.filter(enabled=True)
    # Every identity it disables a credential of, and every agent holding a sub-task opened from
    # their tokens, locked at once in issuance's order: one by one, each disabling would take
    # its identity's row after others' rows that an exchange may hold the other way round.
    lock_for_revoking(
        set(enabled.values_list("identity_id", flat=True)), live_tokens(IssuedToken.objects.filter(credential__in=enabled.values("pk"))),
    )
    credentials, revoked = 0, Revoked()
    for credential in enabled.order_by("pk"):
        disabled = credential_disable(actor=actor, credential=credential, reason=f"{held.name} is no longer trusted: {reason}"[:200])
        credentials, revoked = credentials + 1, revoked + Revoked(disabled.tokens_revoked, disabled.tasks_ended)
    audit_record(
        actor=actor, action=f"{_ACTIONS[model]}.distrust", obj=held, reason=reason,
        before={"trusted": True}, after={"trusted": False, "credentials_disabled": credentials, **revoked.counts()},
    )
    # For the page's message and the API.
    held.credentials_disabled, held.tokens_revoked, held.tasks_ended = credentials, revoked.tokens, revoked.tasks_ended
    return held


@transaction.atomic
def trust_restore(*, actor, holder: WorkloadPlatform, reason: str):
    """Trust it again, for credentials added from now on; the disabled ones stay disabled."""
    reason = _reason(reason)
    model = type(holder)
    held = model.objects.select_for_update().get(pk=holder.pk)
    if not held.distrusted_at:
        raise StateConflict(f"{held.name} is trusted already.")
    held.distrusted_at, held.distrusted_by_label, held.distrust_reason = None, "", ""
    held.save(update_fields=["distrusted_at", "distrusted_by_label", "distrust_reason"])
    audit_record(actor=actor, action=f"{_ACTIONS[model]}.trust", obj=held, reason=reason, before={"trusted": False}, after={"trusted": True})
    return held


NOTICE = OwnerNotice(
    model=WorkloadCredential, told_field="trust_ended_told_at", action="credentials.notify_trust_ended",
    object_type="tokens.workloadcredential", object_id="credentials", object_repr="trust ended notices", noun="credentials",
)


def trust_ended_notify(*, actor, now=None) -> dict:
    """Tell the owners whose credentials were disabled when trust in their platform ended (each
    credential once), so they know why their agents get no token and what to do."""
    now = now or timezone.now()
    due = (
        WorkloadCredential.objects.filter(enabled=False, trust_ended_told_at__isnull=True)
        .filter(
            Q(trust_domain__distrusted_at__isnull=False, disabled_at__gte=F("trust_domain__distrusted_at"))
            | Q(federated_issuer__distrusted_at__isnull=False, disabled_at__gte=F("federated_issuer__distrusted_at"))
        )
        .select_related("identity", "trust_domain", "federated_issuer").order_by("disabled_at", "pk")
    )

    def line(c):
        holder = c.trust_domain or c.federated_issuer
        return (
            f"{c.identity.name}: {c.spiffe_id or c.subject}, as {holder.name} is no longer trusted ({holder.distrust_reason})",
            "Add another credential once it is sound", f"/identities/{c.identity_id}/#credentials",
        )

    body = digest(
        lambda rows: (
            f"A security admin stopped trusting the platform {len(rows)} credential{'s' if len(rows) != 1 else ''} of agents you own "
            "relied on: they are disabled, and the tokens obtained with them revoked. Those agents get no token until they have another."
        ),
        line,
    )
    return NOTICE.run(
        actor=actor, now=now, due=due, body=body,
        subject=lambda mine: f"[NHI Portal] {len(mine)} agent credential{'s were' if len(mine) != 1 else ' was'} disabled: its platform is no longer trusted",
    )
