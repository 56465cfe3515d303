"""Writes to the inventory: one function per use case, one transaction, one audit event."""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from nhiportal.conflicts import StateConflict
from nhiportal.audit.services import actor_label, audit_record
from nhiportal.conf import nhi_setting
from nhiportal.identity_filter import identities_named, name_key
from nhiportal.names import refuse_look_alikes, refuse_unseen
from nhiportal.people.roles import is_security_admin
from tokens.rate_limit import restart_pace

from . import attestation_reviews, campaigns, networks
from .lifecycle import (
    ACTIVATE,
    OFFBOARD,
    REACTIVATE,
    SUSPEND,
    TRANSITIONS,
    attestation_lapsed,
    identity_deactivated,
    missing_for_activation,
)
from .models import NAME_TAKEN, AIIdentity, Attestation, ClaimState, Ownership, OwnerRole, OwnershipClaim, Status
from .owner_roles import owners_refused
from .policy_facts import in_service, loosened

OWNER_PERMS = ("inventory.view_aiidentity", "inventory.change_aiidentity")
EDITABLE_FIELDS = (
    "name",
    "kind",
    "purpose",
    "environment",
    "trust_boundary",
    "autonomy",
    "sensitivity_ceiling",
    "offboarding_plan",
    "allowed_networks",
    "attestation_interval_days",
    "token_rate_per_minute",
)


class TransitionRefused(StateConflict):
    """A lifecycle action that cannot happen now; `missing` lists what activation lacks."""

    def __init__(self, message: str, missing: list[str] | None = None):
        self.missing = missing or []
        super().__init__(message)


class StaleEdit(StateConflict):
    def __init__(self):
        super().__init__(
            "This identity changed since you loaded it. Reload to see the current values, then apply your change again."
        )


def identity_snapshot(identity: AIIdentity) -> dict:
    data = {field: getattr(identity, field) for field in EDITABLE_FIELDS}
    data.update(status=identity.status, version=identity.version)
    return data


def _networks(values) -> list[str]:
    """Stored in one spelling (CIDRs, each once), so an edit that only respells them changes nothing."""
    try:
        return networks.normalized(list(values) if isinstance(values, tuple) else values)
    except ValidationError as error:
        raise ValidationError({"allowed_networks": error.messages}) from None


def _lock(identity: AIIdentity) -> AIIdentity:
    return AIIdentity.objects.select_for_update().get(pk=identity.pk)


def _grant_owner_perms(identity: AIIdentity, person) -> None:
    for perm in OWNER_PERMS:
        assign_perm(perm, person, identity)


def _revoke_owner_perms(identity: AIIdentity, person) -> None:
    for perm in OWNER_PERMS:
        remove_perm(perm, person, identity)


def name_taken(name: str, *, other_than=None) -> bool:
    """Whether another identity has this name, in any case (as the unique constraint compares)."""
    others = AIIdentity.objects.exclude(pk=other_than) if other_than else AIIdentity.objects.all()
    return identities_named(others, name).exists()


def _identity_name(name: str, *, other_than=None) -> str:
    """The name as stored (NFKC, so a full-width or ligature look-alike is the plain name);
    refused next to the field if another identity has it in any case, rather than by the
    database as an error without a field."""
    name = name_key(name)
    refuse_unseen("name", name)
    refuse_look_alikes("name", name)
    if name and name_taken(name, other_than=other_than):
        raise ValidationError({"name": NAME_TAKEN})
    return name


def _save_named(identity: AIIdentity) -> None:
    """Save; a name someone took since it was checked (a concurrent registration or rename)
    is refused as one taken before, not answered with a server error."""
    try:
        with transaction.atomic():
            identity.save()
    except IntegrityError:
        if name_taken(identity.name, other_than=identity.pk):
            raise ValidationError({"name": NAME_TAKEN}) from None
        raise


def _notified_at(actor, person, now, claim=None):
    """An ownership's notified_at as it begins, or as its person becomes primary: now when they
    chose it (they named themselves, or it is their claim being approved), as there is nothing
    to tell them; else None, so notify_new_owners tells them whom someone made accountable."""
    chose = getattr(actor, "pk", None) == person.pk or (claim is not None and claim.claimant_id == person.pk)
    return now if chose else None


def _validate_owners(primary_owner, backup_owners) -> list:
    if primary_owner is None:
        raise ValidationError({"primary_owner": "An identity needs a primary owner."})
    backups = [p for p in dict.fromkeys(backup_owners) if p.pk != primary_owner.pk]
    return backups


def _refuse_who_may_not_own(wanted, current_roles: dict) -> None:
    """Only people with the owner or security admin role are picked as owners (inventory/
    owner_roles.py), whichever path picks them: a page, the API, an import, a handover, an
    approved claim. Refused before anything is written, naming each person next to the field."""
    refused = owners_refused(wanted, current_roles)
    if refused:
        raise ValidationError(refused)


@transaction.atomic
def identity_register(
    *,
    actor,
    name: str,
    kind: str,
    environment: str,
    primary_owner,
    backup_owners=(),
    purpose: str = "",
    trust_boundary: str = "",
    autonomy: str = "supervised",
    sensitivity_ceiling: int | None = None,
    offboarding_plan: str = "",
    allowed_networks=(),
    attestation_interval_days: int | None = None,
    token_rate_per_minute: int | None = None,
) -> AIIdentity:
    """Register a new identity in state `registered`, with its owners."""
    backups = _validate_owners(primary_owner, backup_owners)
    _refuse_who_may_not_own([(primary_owner, OwnerRole.PRIMARY)] + [(p, OwnerRole.BACKUP) for p in backups], {})
    identity = AIIdentity(
        name=_identity_name(name),
        kind=kind,
        purpose=purpose.strip(),
        environment=environment,
        trust_boundary=trust_boundary.strip(),
        autonomy=autonomy,
        sensitivity_ceiling=sensitivity_ceiling,
        offboarding_plan=offboarding_plan.strip(),
        allowed_networks=_networks(allowed_networks),
        token_rate_per_minute=token_rate_per_minute,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    # The portal-wide interval (settings.NHI) unless this identity is given its own.
    identity.attestation_interval_days = attestation_interval_days or nhi_setting("ATTESTATION_INTERVAL_DAYS")
    identity.full_clean()
    _save_named(identity)
    owners = [(primary_owner, OwnerRole.PRIMARY)] + [(p, OwnerRole.BACKUP) for p in backups]
    now = timezone.now()
    for person, role in owners:
        Ownership.objects.create(identity=identity, person=person, role=role, since=now, notified_at=_notified_at(actor, person, now))
        _grant_owner_perms(identity, person)
    after = identity_snapshot(identity)
    after["owners"] = {p.get_username(): role for p, role in owners}
    audit_record(actor=actor, action="identity.register", obj=identity, after=after)
    return identity


@transaction.atomic
def identity_update(*, actor, identity: AIIdentity, expected_version: int, **changes) -> AIIdentity:
    """Change descriptive fields; refuse if someone else changed the identity meanwhile."""
    identity = _lock(identity)
    if identity.version != expected_version:
        raise StaleEdit()
    if identity.is_offboarded:
        raise TransitionRefused("An offboarded identity is kept as a record and cannot be edited.")
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"Not editable: {', '.join(sorted(unknown))}")
    if "allowed_networks" in changes:
        changes["allowed_networks"] = _networks(changes["allowed_networks"])
    if "name" in changes:  # checked only when it changes: keeping one's own name is no clash
        name = name_key(changes["name"])
        changes["name"] = name if name == identity.name else _identity_name(name, other_than=identity.pk)
    before = identity_snapshot(identity)
    for field, value in changes.items():
        setattr(identity, field, value.strip() if isinstance(value, str) else value)
    identity.full_clean()
    after = identity_snapshot(identity)
    changed = {f: v for f, v in after.items() if before.get(f) != v}
    if not changed:
        return identity
    if not is_security_admin(actor) and in_service(identity):
        refused = loosened(before, after, identity)
        if refused:
            raise ValidationError(refused)
    identity.version += 1
    identity.updated_at = timezone.now()
    _save_named(identity)
    if "token_rate_per_minute" in changed:
        restart_pace(identity.pk)
    audit_record(
        actor=actor,
        action="identity.update",
        obj=identity,
        before={f: before[f] for f in changed},
        after={f: getattr(identity, f) for f in changed},
    )
    return identity


PRIMARY_OWNER_DECIDES = "Only the primary owner or a security admin changes the primary owner."
OWNERS_CHANGED_BY = "Only the identity's owners or a security admin change its owners."


def _refuse_owner_change(actor, current: dict, wanted: dict, claim) -> None:
    """Who changes which owners. The primary owner answers for the identity, so they and
    security admins change anything (a handover of a leaver's identities is a security
    admin's); a reviewer approving a claim makes the claimant primary. A backup owner may
    add backups and remove themselves, never change the primary owner or remove another:
    else a backup could take the identity from the person who answers for it."""
    if is_security_admin(actor):
        return
    mine = current.get(getattr(actor, "pk", None))
    if mine is not None and mine.role == OwnerRole.PRIMARY:
        return
    new_primary = next(person for person, role in wanted.values() if role == OwnerRole.PRIMARY)
    if mine is None:
        if claim is not None and claim.claimant_id == new_primary.pk:
            return  # inventory/claims.py checked that this actor decides the claim
        raise PermissionDenied(OWNERS_CHANGED_BY)
    errors = {}
    primary = next((o.person for o in current.values() if o.role == OwnerRole.PRIMARY), None)
    if primary is None or new_primary.pk != primary.pk:
        errors["primary_owner"] = f"{PRIMARY_OWNER_DECIDES} Keep {primary.get_username() if primary else 'it as it is'}."
    removed = sorted(
        o.person.get_username() for person_id, o in current.items()
        if person_id not in wanted and o.role == OwnerRole.BACKUP and person_id != actor.pk
    )
    if removed:
        errors["backup_owners"] = (
            f"Only the primary owner or a security admin removes other owners: keep {', '.join(removed)}. "
            "You may add backups, or remove yourself."
        )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def identity_owners_set(
    *, actor, identity: AIIdentity, primary_owner, backup_owners=(), expected_version: int | None = None, reason: str = "",
    claim=None,
) -> AIIdentity:
    """Replace the owner list: one primary, any backups. Object permissions follow.
    `claim`: the ownership claim an approver is approving (inventory/claims.py, which checked
    they decide it), making its claimant the primary owner.
    Who may change what: _refuse_owner_change; who may be made an owner: _refuse_who_may_not_own."""
    identity = _lock(identity)
    if expected_version is not None and identity.version != expected_version:
        raise StaleEdit()
    if identity.is_offboarded:
        raise TransitionRefused("An offboarded identity's owners are kept as a record.")
    backups = _validate_owners(primary_owner, backup_owners)
    wanted = {primary_owner.pk: (primary_owner, OwnerRole.PRIMARY)}
    wanted.update({p.pk: (p, OwnerRole.BACKUP) for p in backups})
    current = {o.person_id: o for o in identity.ownerships.select_related("person")}
    _refuse_owner_change(actor, current, wanted, claim)
    _refuse_who_may_not_own(wanted.values(), {person_id: o.role for person_id, o in current.items()})
    before = {o.person.get_username(): o.role for o in current.values()}
    for person_id, ownership in current.items():
        if person_id not in wanted:
            ownership.delete()
            _revoke_owner_perms(identity, ownership.person)
    # Demote the old primary first so the one-primary constraint holds at every step.
    for person_id, ownership in current.items():
        if person_id in wanted and ownership.role != wanted[person_id][1] and ownership.role == OwnerRole.PRIMARY:
            ownership.role = OwnerRole.BACKUP
            ownership.save(update_fields=["role"])
    now = timezone.now()
    for person_id, (person, role) in wanted.items():
        ownership = current.get(person_id)
        if ownership is None:
            Ownership.objects.create(
                identity=identity, person=person, role=role, since=now, notified_at=_notified_at(actor, person, now, claim),
            )
            _grant_owner_perms(identity, person)
        elif ownership.role != role:
            ownership.role = role
            # A backup made primary (demotions ran above): a new accountability, told as a new
            # ownership is. A primary moved down answers for less and keeps its notified_at.
            ownership.notified_at = _notified_at(actor, person, now, claim)
            ownership.save(update_fields=["role", "notified_at"])
    after = {p.get_username(): role for p, role in wanted.values()}
    if before == after:
        return identity
    identity.version += 1
    identity.updated_at = timezone.now()
    identity.save(update_fields=["version", "updated_at"])
    audit_record(
        actor=actor, action="identity.owners_set", obj=identity, before={"owners": before}, after={"owners": after}, reason=reason.strip()
    )
    return identity


def reactivation_held(actor, identity: AIIdentity) -> bool:
    """A security admin suspended it (held_by_security_admin): only a security admin reactivates it."""
    return identity.held_by_security_admin and not is_security_admin(actor)


def _transition(*, actor, identity: AIIdentity, action: str, reason: str, expected_version: int | None, hold: bool = False):
    if action in (SUSPEND, OFFBOARD):
        # The token service then holds the agents of the sub-tasks this ends: taken here first,
        # with the identity, in one id order (inventory/token_selectors.lock_for_deactivating).
        # Imported here: token_selectors reaches tokens modules that import this one.
        from .token_selectors import lock_for_deactivating

        lock_for_deactivating([identity.pk])
    identity = _lock(identity)
    if expected_version is not None and identity.version != expected_version:
        raise StaleEdit()
    sources, target = TRANSITIONS[action]
    if identity.status not in sources:
        raise TransitionRefused(
            f"Cannot {action} an identity that is {identity.get_status_display().lower()}."
        )
    if action == REACTIVATE and reactivation_held(actor, identity):
        raise TransitionRefused(f"A security admin suspended it ({identity.status_reason}): only a security admin reactivates it.")
    if action == REACTIVATE and attestation_lapsed(identity):
        # Else reactivating would undo suspend_unattested until its next run (inventory/lapses.py).
        raise TransitionRefused(
            f"Cannot reactivate: its attestation was due {identity.attestation_due:%Y-%m-%d}. An owner attests it first."
        )
    if target == Status.ACTIVE:
        missing = missing_for_activation(identity)
        if missing:
            raise TransitionRefused(f"Cannot {action}: missing {', '.join(missing)}.", missing=missing)
    before = {"status": identity.status}
    now = timezone.now()
    identity.status = target
    identity.held_by_security_admin = target == Status.SUSPENDED and hold
    identity.status_reason = reason.strip()
    identity.status_changed_at = now
    if target == Status.ACTIVE and identity.attestation_due is None:
        identity.attestation_due = timezone.localdate(now) + timedelta(days=identity.attestation_interval_days)
    identity.version += 1
    identity.updated_at = now
    identity.save()
    taken = {}
    if action == OFFBOARD:
        taken["attestations_superseded"] = attestation_reviews.attestations_supersede(identity, by="The identity was offboarded.")
        # No one can take over an offboarded identity: claims still waiting end with it.
        taken["claims_cancelled"] = OwnershipClaim.objects.filter(identity=identity, state=ClaimState.PENDING).update(
            state=ClaimState.CANCELLED, decided_by_label=actor_label(actor)[:200], decided_at=now,
            decision_reason=f"Identity offboarded: {reason.strip()}",
        )
    if action in (SUSPEND, OFFBOARD):
        # Receivers (the token service) revoke what the identity holds, in this transaction, and
        # answer what they took, which the one event counts.
        for _receiver, answer in identity_deactivated.send(sender=AIIdentity, identity=identity, action=action, actor=actor, reason=reason):
            taken.update(answer or {})
    audit_record(
        actor=actor,
        action=f"identity.{action}",
        obj=identity,
        before=before,
        after={"status": identity.status, **{name: count for name, count in taken.items() if count}},
        reason=reason.strip(),
    )
    return identity


@transaction.atomic
def identity_activate(*, actor, identity: AIIdentity, reason: str = "", expected_version: int | None = None):
    return _transition(actor=actor, identity=identity, action=ACTIVATE, reason=reason, expected_version=expected_version)


@transaction.atomic
def identity_suspend(*, actor, identity: AIIdentity, reason: str, expected_version: int | None = None, hold: bool | None = None):
    """Revokes its live tokens and ends its open tasks (via identity_deactivated), so once
    reactivated it joins none of them again. `hold`: only a security admin may reactivate it; by
    default, when a security admin suspends it (by hand, or confirming an exposure).
    Housekeeping passes False (unused identities)."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the identity is suspended."})
    hold = is_security_admin(actor) if hold is None else hold
    return _transition(actor=actor, identity=identity, action=SUSPEND, reason=reason, expected_version=expected_version, hold=hold)


@transaction.atomic
def identity_reactivate(*, actor, identity: AIIdentity, reason: str = "", expected_version: int | None = None):
    return _transition(actor=actor, identity=identity, action=REACTIVATE, reason=reason, expected_version=expected_version)


@transaction.atomic
def identity_offboard(*, actor, identity: AIIdentity, reason: str, expected_version: int | None = None):
    """Terminal: revokes everything the identity holds (via identity_deactivated), keeps the record."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the identity is offboarded."})
    return _transition(actor=actor, identity=identity, action=OFFBOARD, reason=reason, expected_version=expected_version)


@transaction.atomic
def identity_attest(*, actor, identity: AIIdentity, note: str = "") -> Attestation:
    """An owner confirms the identity is still needed; the next attestation falls due later.

    While a reviewer's rejection is the identity's latest review, the attestation waits for a
    reviewer before it counts: the due date and last attestation stay as they are until a
    confirmation moves them (inventory/attestation_reviews.py), else attesting again at once
    would undo the rejection, and the sweep's suspension for a lapse with it. The attestation
    returned carries `standing_rejection` (None, or the rejected one), so callers can say so."""
    identity = _lock(identity)
    if identity.status not in (Status.ACTIVE, Status.SUSPENDED):
        raise TransitionRefused("Only active or suspended identities are attested.")
    now = timezone.now()
    rejection = attestation_reviews.standing_rejection(identity)
    # The new statement is the one a reviewer reads: any still waiting is superseded by it.
    superseded = attestation_reviews.attestations_supersede(identity, by="A later attestation stands in its place.")
    attestation = Attestation.objects.create(identity=identity, person=actor, attested_at=now, note=note.strip())
    answered = campaigns.answer_open_items(identity, attestation)
    before = {"attestation_due": identity.attestation_due}
    if rejection is None:
        identity.last_attested_at = now
        identity.attestation_due = timezone.localdate(now) + timedelta(days=identity.attestation_interval_days)
        identity.version += 1
        identity.updated_at = now
        identity.save()
    audit_record(
        actor=actor,
        action="identity.attest",
        obj=identity,
        before=before,
        after={
            "attestation_due": identity.attestation_due,
            **({"counts_once_confirmed": True, "rejected_attestation": rejection.pk} if rejection else {}),
            **({"campaign_items_answered": answered} if answered else {}),
            **({"attestations_superseded": superseded} if superseded else {}),
        },
        reason=note.strip(),
    )
    attestation.standing_rejection = rejection
    return attestation
