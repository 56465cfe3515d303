"""New owners hear that they answer for an identity now.

An owner answers for their identities: they attest them, are told of their leaks, have them
suspended when no one attests, and offboard them. When someone else makes a person an owner
(the owners page or API, a registration naming backups, a leaver's handover) or makes a
backup the primary owner, that person has not agreed to any of it and may not know:
`manage.py notify_new_owners` (each sweep) mails them once, one digest per person, with a link
to each identity and whom to tell if it is a mistake. Who made themselves owner (registering
their own identity, their claim approved) is not told: inventory/services.py sets notified_at
as the ownership begins.

The ownerships are claimed (notified_at) before any mail goes out, so two runs never both
send, and withdrawn if the mail server refuses, so the next run tries again
(nhiportal/mail.py). An ownership of an offboarded identity, or of a person who has left or
has no email address, is marked notified without a mail: there is nothing to act on, or no
one to reach, as the other notices skip such people.
"""

from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from nhiportal.audit.services import audit_record
from nhiportal.conf import nhi_setting
from nhiportal.mail import send_claimed_rows

from .models import Ownership, OwnerRole, Status

ACTION = "identities.notify_new_owners"
ANSWERS_FOR = (
    "An owner answers for an identity: attesting that it is still needed (it is suspended when no owner "
    "attests in time), acting when its credentials leak, and offboarding it when it is no longer needed."
)


def _reachable(ownership: Ownership) -> bool:
    person = ownership.person
    return ownership.identity.status != Status.OFFBOARDED and person.is_active and bool(person.email)


def _body(ownerships: list[Ownership], base_url: str) -> str:
    many = len(ownerships) > 1
    lines = [f"You were made an owner of {'these identities' if many else 'this identity'} in the NHI Portal:", ""]
    for ownership in ownerships:
        url = base_url + reverse("inventory:identity-detail", args=[ownership.identity_id])
        role = "primary owner" if ownership.role == OwnerRole.PRIMARY else "backup owner"
        lines += [f"- {ownership.identity.name}: {role}", f"  {url}"]
    lines += [
        "",
        ANSWERS_FOR,
        "If this is a mistake, tell the primary owner or a security admin.",
    ]
    return "\n".join(lines)


def new_owners_notify(*, actor) -> dict:
    """Mail each person made an owner (or primary owner) by someone else and not yet told, one
    digest per person. Answers how many ownerships were claimed and how many people mailed."""
    with transaction.atomic():
        pending = list(
            Ownership.objects.select_for_update(of=("self",)).filter(notified_at__isnull=True)
            .select_related("identity", "person").order_by("person_id", "identity__name", "pk")
        )
        if not pending:
            return {"ownerships": 0, "people": 0}
        Ownership.objects.filter(pk__in=[o.pk for o in pending]).update(notified_at=timezone.now())
        digests = {}
        for ownership in pending:
            if _reachable(ownership):
                digests.setdefault(ownership.person, []).append(ownership)
        unreached = len(pending) - sum(len(mine) for mine in digests.values())
        audit_record(
            actor=actor, action=ACTION, object_type="inventory.ownership", object_id="ownerships",
            object_repr="new owner notices",
            after={"ownerships": len(pending), "people": len(digests), **({"not mailed": unreached} if unreached else {})},
        )
    base_url = nhi_setting("ISSUER").rstrip("/")
    messages = [
        EmailMessage(
            subject=f"[NHI Portal] You are now an owner of {len(mine)} identit{'ies' if len(mine) > 1 else 'y'}",
            body=_body(mine, base_url), to=[person.email],
        )
        for person, mine in digests.items()
    ]

    def withdraw(error, ownerships):
        Ownership.objects.filter(pk__in=[o.pk for o in ownerships]).update(notified_at=None)
        audit_record(
            actor=actor, action=f"{ACTION}_failed", object_type="inventory.ownership", object_id="ownerships",
            object_repr="new owner notices", after={"ownerships": len(ownerships)}, reason=str(error)[:200],
        )

    # Only the mailed ones: an ownership no mail was for stays notified, else a mail server that
    # is down would have it claimed, skipped and withdrawn again on every run.
    rows_of = list(digests.values())
    send_claimed_rows(messages, rows_of=rows_of, claimed=[o for mine in rows_of for o in mine], withdraw=withdraw)
    return {"ownerships": len(pending), "people": len(digests)}
