"""No one vouches for it, so it stops: identities whose attestation lapsed are suspended.

An attestation is an owner's dated word that the identity is still needed and its scope still
right. Once one falls due and no owner attests within NHI_ATTESTATION_GRACE_DAYS,
`manage.py suspend_unattested` (daily; a step of governance_sweep) suspends the identity, which
revokes its live tokens (inventory/services.identity_suspend), and mails its active owners. An
owner attests and reactivates it on the identity page. The compliance control "attested on
time" fails from the same day, so the two never disagree about when grace ends.
"""

import logging
from datetime import date, timedelta

from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from nhiportal.audit.services import audit_record
from nhiportal.conf import nhi_setting

from . import services
from .models import AIIdentity, Ownership, Status

logger = logging.getLogger(__name__)


def lapse_date(identity: AIIdentity) -> date | None:
    """The day suspend_unattested suspends this active identity unless an owner attests before."""
    if identity.status != Status.ACTIVE or identity.attestation_due is None:
        return None
    return identity.attestation_due + timedelta(days=nhi_setting("ATTESTATION_GRACE_DAYS") + 1)


def _lapsed(today: date):
    last_due = today - timedelta(days=nhi_setting("ATTESTATION_GRACE_DAYS") + 1)
    return AIIdentity.objects.filter(status=Status.ACTIVE, attestation_due__lte=last_due)


def lapses_review(*, actor, today: date | None = None) -> dict:
    today = today or timezone.localdate()
    grace = nhi_setting("ATTESTATION_GRACE_DAYS")
    suspended = []
    for pk in list(_lapsed(today).order_by("name").values_list("pk", flat=True)):
        # One transaction each, deciding again under the identity's lock: an owner who attested
        # since the list was read keeps the identity active.
        with transaction.atomic():
            identity = _lapsed(today).select_for_update().filter(pk=pk).first()
            if identity is None:
                continue
            services.identity_suspend(
                actor=actor, identity=identity,
                reason=(
                    f"Attestation due {identity.attestation_due:%Y-%m-%d} and not given within {grace} days' grace: "
                    "suspended until an owner attests and reactivates it."
                ),
            )
        suspended.append(identity)
    told = _tell_owners(actor=actor, suspended=suspended)
    return {"suspended": len(suspended), "owners_told": told}


def _tell_owners(*, actor, suspended: list[AIIdentity]) -> int:
    """One mail per active owner naming their suspended identities. The suspensions stand
    whatever the mail server says; a refusal is audited and raised, so the run shows failed."""
    if not suspended:
        return 0
    by_person = {}
    owners = Ownership.objects.filter(identity__in=suspended, person__is_active=True).exclude(person__email="")
    for ownership in owners.select_related("person", "identity").order_by("identity__name"):
        by_person.setdefault(ownership.person, []).append(ownership.identity)
    base_url = nhi_setting("ISSUER").rstrip("/")

    def body(identities):
        lines = [
            f"No owner attested {'these identities' if len(identities) > 1 else 'this identity'} in time, so "
            f"{'they are' if len(identities) > 1 else 'it is'} suspended and {'their' if len(identities) > 1 else 'its'} "
            "live tokens revoked:", "",
        ]
        for identity in identities:
            lines.append(f"- {identity.name} (due {identity.attestation_due:%Y-%m-%d}): {base_url}{reverse('inventory:identity-detail', args=[identity.pk])}")
        lines += ["", "If it is still needed, attest it on its page and reactivate it; if not, offboard it."]
        return "\n".join(lines)

    messages = [
        EmailMessage(
            subject=f"[NHI Portal] {len(mine)} identit{'ies' if len(mine) > 1 else 'y'} suspended: attestation overdue",
            body=body(mine), to=[person.email],
        )
        for person, mine in by_person.items()
    ]
    try:
        get_connection().send_messages(messages)
    except Exception as error:
        with transaction.atomic():
            audit_record(
                actor=actor, action="lapses.notify_failed", object_type="inventory.aiidentity", object_id="lapses",
                object_repr="attestation lapse notices", after={"identities": len(suspended)}, reason=str(error)[:200],
            )
        raise
    return len(by_person)
