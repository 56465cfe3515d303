"""A person leaves: what they answer for passes to a successor first, so nothing is orphaned.

Each identity they own (and is not offboarded) gets the successor in their place, in their
role: a primary's successor becomes primary, and one who was already a backup moves up. So
the successor must be someone who may own an identity (inventory/owner_roles.py): anyone else
is refused by name before anything moves. One `identity.owners_set` event per identity, with
the reason. The token service moves the services they own on the `ownerships_handed_over`
signal, in the same transaction.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal

from .models import AIIdentity, Ownership, OwnerRole, Status
from .owner_roles import cannot_own, may_own
from .services import identity_owners_set

# Sent inside the handover's transaction: sender=Ownership, leaver, successor, actor, reason.
# Receivers move what else the leaver owns and return how many they moved.
ownerships_handed_over = Signal()


def identities_to_hand_over(leaver):
    """What a handover moves of the leaver's identities: those in service they own, by name."""
    return AIIdentity.objects.filter(ownerships__person=leaver).exclude(status=Status.OFFBOARDED).order_by("name")


def _owners_after(identity: AIIdentity, leaver, successor) -> tuple:
    """(primary, backups) with the successor in the leaver's place."""
    roles = {o.person: o.role for o in identity.ownerships.select_related("person")}
    leaver_role = roles.pop(leaver)
    if leaver_role == OwnerRole.PRIMARY or roles.get(successor) == OwnerRole.PRIMARY:
        roles = {p: OwnerRole.BACKUP for p in roles}
        roles[successor] = OwnerRole.PRIMARY
    else:
        roles.setdefault(successor, OwnerRole.BACKUP)
    primary = next(p for p, role in roles.items() if role == OwnerRole.PRIMARY)
    return primary, sorted((p for p in roles if p != primary), key=lambda p: p.get_username())


@transaction.atomic
def ownerships_hand_over(*, actor, leaver, successor, reason: str) -> dict:
    """Give everything the leaver owns to the successor, all or none. Answers what moved."""
    if successor is None or not successor.is_active:
        raise ValidationError({"successor": "Choose an active person to take over."})
    if successor.pk == leaver.pk:
        raise ValidationError({"successor": "Choose someone other than the person leaving."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why their ownership moves."})
    # Said of the successor, the field that names them: identity_owners_set would refuse the
    # first identity under the owner fields, which a handover does not have.
    if not may_own(successor) and identities_to_hand_over(leaver).exists():
        raise ValidationError({"successor": cannot_own(successor)})
    owned = identities_to_hand_over(leaver).select_for_update(of=("self",))
    identities = 0
    for identity in owned:
        primary, backups = _owners_after(identity, leaver, successor)
        identity_owners_set(actor=actor, identity=identity, primary_owner=primary, backup_owners=backups, reason=reason)
        identities += 1
    moved = {"identities": identities}
    for _receiver, answer in ownerships_handed_over.send(sender=Ownership, leaver=leaver, successor=successor, actor=actor, reason=reason):
        moved.update(answer or {})
    return moved

