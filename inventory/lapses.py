"""No one vouches for it, so it stops: identities whose attestation lapsed are suspended.

An attestation is an owner's dated word that the identity is still needed and its scope still
right. Once one falls due and no owner attests within NHI_ATTESTATION_GRACE_DAYS,
`manage.py suspend_unattested` (hourly: a step of the governance sweep, nhiportal/sweep/steps.py)
suspends the identity, which revokes its live tokens and ends its open tasks
(inventory/services.identity_suspend), and mails its active owners: the
notice is written with the suspension, so a mail server that is down delays it, never loses it.
An owner attests and reactivates it on the identity page. The compliance control "attested on
time" fails for an active identity from the same day, so the two agree on when grace ends.
"""

from datetime import date, timedelta

from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from nhiportal.audit.services import audit_record
from nhiportal.conf import nhi_setting
from nhiportal.mail import send_claimed_rows

from . import services
from .lifecycle import lapse_cutoff
from .models import AIIdentity, LapseNotice, Ownership, Status


def lapse_date(identity: AIIdentity) -> date | None:
    """The day suspend_unattested suspends this active identity unless an owner attests before."""
    if identity.status != Status.ACTIVE or identity.attestation_due is None:
        return None
    return identity.attestation_due + timedelta(days=nhi_setting("ATTESTATION_GRACE_DAYS") + 1)


def _lapsed(today: date):
    # The query form of lifecycle.attestation_lapsed, which refuses reactivation until an owner attests.
    return AIIdentity.objects.filter(status=Status.ACTIVE, attestation_due__lte=lapse_cutoff(today))


def lapses_review(*, actor, today: date | None = None) -> dict:
    today = today or timezone.localdate()
    grace = nhi_setting("ATTESTATION_GRACE_DAYS")
    suspended = 0
    for pk in list(_lapsed(today).order_by("name").values_list("pk", flat=True)):
        # One transaction each, deciding again under the identity's lock: an owner who attested
        # since the list was read keeps the identity active.
        with transaction.atomic():
            identity = _lapsed(today).select_for_update().filter(pk=pk).first()
            if identity is None:
                continue
            identity = services.identity_suspend(
                actor=actor, identity=identity,
                reason=(
                    f"Attestation due {identity.attestation_due:%Y-%m-%d} and not given within {grace} days' grace: "
                    "suspended until an owner attests and reactivates it."
                ),
            )
            LapseNotice.objects.create(identity=identity, attestation_due=identity.attestation_due, suspended_at=identity.status_changed_at)
        suspended += 1
    return {"suspended": suspended, "owners_told": lapse_notices_send(actor=actor)}


def lapse_notices_send(*, actor) -> int:
    """Mail the active owners of each identity suspended for a lapse and not yet told, one mail
    per person. The notices are claimed (told_at) before any mail goes out, so two runs never
    both send, and withdrawn if the mail server refuses, so the next run tries again. A notice
    whose identity is active again (attested and reactivated meanwhile) is closed untold."""
    with transaction.atomic():
        pending = list(LapseNotice.objects.select_for_update(of=("self",)).filter(told_at__isnull=True).select_related("identity"))
        if not pending:
            return 0
        now = timezone.now()
        moot = [n for n in pending if n.identity.status != Status.SUSPENDED]
        live = [n for n in pending if n.identity.status == Status.SUSPENDED]
        by_person, told = {}, {}
        owners = Ownership.objects.filter(identity__in=[n.identity_id for n in live], person__is_active=True).exclude(person__email="")
        for ownership in owners.select_related("person"):
            for notice in live:
                if notice.identity_id == ownership.identity_id:
                    by_person.setdefault(ownership.person, []).append(notice)
                    told[notice.pk] = told.get(notice.pk, 0) + 1
        for notice in pending:
            notice.told_at, notice.owners_told = now, told.get(notice.pk, 0)
        LapseNotice.objects.bulk_update(pending, ["told_at", "owners_told"])
        audit_record(
            actor=actor, action="lapses.notify", object_type="inventory.aiidentity", object_id="lapses",
            object_repr="attestation lapse notices",
            after={"identities": len(live), "people": len(by_person), **({"no longer suspended": len(moot)} if moot else {})},
        )
    base_url = nhi_setting("ISSUER").rstrip("/")

    def body(notices):
        many = len(notices) > 1
        lines = [
            f"No owner attested {'these identities' if many else 'this identity'} in time, so "
            f"{'they are' if many else 'it is'} suspended and {'their' if many else 'its'} live tokens revoked:", "",
        ]
        for notice in sorted(notices, key=lambda n: n.identity.name):
            url = base_url + reverse("inventory:identity-detail", args=[notice.identity_id])
            lines.append(f"- {notice.identity.name} (due {notice.attestation_due:%Y-%m-%d}): {url}")
        lines += ["", "If it is still needed, attest it on its page and reactivate it; if not, offboard it."]
        return "\n".join(lines)

    messages = [
        EmailMessage(
            subject=f"[NHI Portal] {len(mine)} identit{'ies' if len(mine) > 1 else 'y'} suspended: attestation overdue",
            body=body(mine), to=[person.email],
        )
        for person, mine in by_person.items()
    ]

    def withdraw(error, notices):
        LapseNotice.objects.filter(pk__in=[n.pk for n in notices]).update(told_at=None, owners_told=0)
        audit_record(
            actor=actor, action="lapses.notify_failed", object_type="inventory.aiidentity", object_id="lapses",
            object_repr="attestation lapse notices", after={"identities": len(notices)}, reason=str(error)[:200],
        )

    send_claimed_rows(messages, rows_of=list(by_person.values()), claimed=pending, withdraw=withdraw)
    return len(by_person)
