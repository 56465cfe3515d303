"""Acting on many identities at once from the identity list: suspend, reactivate, change owners.

A batch is all or nothing. It is checked whole before anything is written: every identity must
be one the person may change (the one gate, inventory/visibility.py), and each must be one the
action can take now, else the batch is refused naming each identity in the way. Then it is done
in one transaction, each identity through the single action's own service, so each gets the
audit event, the revocations and the rules one at a time would give it; a refusal met half-way
(something changed since the check) undoes the ones done before it. Per identity "done or not"
would leave the person to work out which half of their choice happened; one choice, one outcome.

Offboarding is not offered in bulk: it is final, and has its own page where the person types
the identity's name.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from nhiportal.conf import nhi_setting
from nhiportal.people.roles import is_security_admin

from . import services, token_selectors, visibility
from .lifecycle import REACTIVATE, SUSPEND, attestation_lapsed, missing_for_activation
from .models import AIIdentity, Ownership, OwnerRole, Status

OWNERS = "owners"

NOT_YOURS = "An identity chosen does not exist, or is not yours to change. Nothing was done."


class BatchRefused(ValidationError):
    """The batch as a whole cannot be done; nothing was written."""


def batch_limit() -> int:
    """At most a page of the list: "choose all on this page" always fits, and a batch is never
    bigger than what the person had in front of them."""
    return nhi_setting("PAGE_SIZE")


@dataclass
class Row:
    """One identity of a batch, as the confirmation page lists it."""

    identity: AIIdentity
    refusal: str = ""
    ends: dict = field(default_factory=dict)
    primary: Ownership | None = None
    backups: list = field(default_factory=list)


def _with_owners(queryset):
    return queryset.prefetch_related(Prefetch("ownerships", queryset=Ownership.objects.select_related("person")))


def _refusal(actor, action: str, identity: AIIdentity, primary_id, *, today) -> str:
    """Why `actor` cannot do `action` to this identity now, in words that follow its name; "" if they can.
    The single actions' own rules (services._transition, services._refuse_owner_change)."""
    status = identity.get_status_display().lower()
    if identity.is_offboarded:
        return "is offboarded: its record is kept as it was"
    if action == SUSPEND and identity.status != Status.ACTIVE:
        return f"is {status}: only active identities are suspended"
    if action == REACTIVATE:
        if identity.status != Status.SUSPENDED:
            return f"is {status}: only suspended identities are reactivated"
        if services.reactivation_held(actor, identity):
            return "was suspended by a security admin: only a security admin reactivates it"
        if attestation_lapsed(identity, today):
            return f"was due for attestation on {identity.attestation_due:%Y-%m-%d}: an owner attests it first"
        missing = missing_for_activation(identity)
        if missing:
            return f"still needs {', '.join(missing)}"
    if action == OWNERS and not is_security_admin(actor) and primary_id != actor.pk:
        return "is not yours to hand over: only its primary owner or a security admin changes its primary owner"
    return ""


def batch_rows(*, actor, action: str, identities) -> list[Row]:
    """The batch as the confirmation page shows it, by name: each identity with why it cannot be
    part of it (if so), what suspending it ends (live tokens, open tasks) and its owners."""
    ids = [i.pk for i in identities]
    loaded = _with_owners(AIIdentity.objects.filter(pk__in=ids).order_by("name", "pk"))
    ends = token_selectors.suspension_ends(ids) if action == SUSPEND else {}
    today = timezone.localdate()
    rows = []
    for identity in loaded:
        owners = list(identity.ownerships.all())
        primary = next((o for o in owners if o.role == OwnerRole.PRIMARY), None)
        rows.append(Row(
            identity=identity,
            refusal=_refusal(actor, action, identity, primary.person_id if primary else None, today=today),
            ends=ends.get(identity.pk, {}),
            primary=primary,
            backups=sorted((o for o in owners if o.role == OwnerRole.BACKUP), key=lambda o: o.person.get_username()),
        ))
    return rows


def refused_rows(rows: list[Row]) -> list[Row]:
    return [row for row in rows if row.refusal]


def _refusal_message(rows: list[Row], action: str) -> str:
    verb = {SUSPEND: "suspended", REACTIVATE: "reactivated", OWNERS: "given a new owner"}[action]
    named = "; ".join(f"{row.identity.name} {row.refusal}" for row in rows)
    return f"Nothing was {verb}: {named}. Leave {'it' if len(rows) == 1 else 'them'} out and try again."


def _locked_batch(*, actor, action: str, identities) -> list[Row]:
    """The batch checked whole, under each identity's lock (taken in one order, so two batches
    that share identities wait for each other rather than deadlock). A suspension also holds
    the agents of the sub-tasks it ends (a delegate's), as one suspension does
    (tokens/revocation.on_identity_deactivated), but for the whole batch in that one order:
    each suspension then locks only rows already held, never one below a row held before."""
    ids = list(dict.fromkeys(i.pk for i in identities))
    if not ids:
        raise BatchRefused("Choose at least one identity.")
    if len(ids) > batch_limit():
        raise BatchRefused(f"Choose at most {batch_limit()} identities at once. Nothing was done.")
    # Locked before the gate is asked again (whoever calls: the page's form asked it), so a
    # handover committed up to the lock is seen, and the person who handed an identity over
    # no longer changes it. Locking rows the person may not change first tells them nothing
    # (the refusal below reads the same, for a missing identity too) and takes them in the one
    # order every batch takes.
    try:
        if action == SUSPEND:
            token_selectors.lock_for_deactivating(ids)
        else:
            list(AIIdentity.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    except AIIdentity.DoesNotExist:
        raise BatchRefused(NOT_YOURS) from None
    if visibility.restrict(AIIdentity.objects.filter(pk__in=ids), actor, visibility.CHANGE).count() != len(ids):
        raise BatchRefused(NOT_YOURS)
    rows = batch_rows(actor=actor, action=action, identities=[AIIdentity(pk=pk) for pk in ids])
    refused = refused_rows(rows)
    if refused:
        raise BatchRefused(_refusal_message(refused, action))
    return rows


def _one_by_one(rows: list[Row], act) -> list:
    """act(row) for each row; a refusal from one (something the check could not foresee) is
    raised naming its identity, and undoes the batch."""
    done = []
    for row in rows:
        try:
            done.append(act(row))
        except ValidationError as error:
            raise BatchRefused(f"Nothing was done: {row.identity.name}: {' '.join(error.messages)}") from error
    return done


@transaction.atomic
def identities_suspend(*, actor, identities, reason: str) -> dict:
    """Suspend each identity, as identity_suspend does one: its live tokens are revoked and its
    open tasks end; a security admin's suspension holds (only a security admin reactivates)."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why these identities are suspended."})
    rows = _locked_batch(actor=actor, action=SUSPEND, identities=identities)
    _one_by_one(rows, lambda row: services.identity_suspend(actor=actor, identity=row.identity, reason=reason))
    return {
        "suspended": len(rows),
        "tokens": sum(row.ends.get("tokens", 0) for row in rows),
        "tasks": sum(row.ends.get("tasks", 0) for row in rows),
    }


@transaction.atomic
def identities_reactivate(*, actor, identities, reason: str = "") -> dict:
    """Reactivate each identity, by identity_reactivate's rules: one a security admin suspended
    is reactivated by a security admin only, and each must still have what activation needs."""
    rows = _locked_batch(actor=actor, action=REACTIVATE, identities=identities)
    _one_by_one(rows, lambda row: services.identity_reactivate(actor=actor, identity=row.identity, reason=reason))
    return {"reactivated": len(rows)}


@transaction.atomic
def identities_owners_set(*, actor, identities, primary_owner, keep_previous: bool, reason: str = "") -> dict:
    """Make `primary_owner` the primary owner of each identity (someone moved team), through
    identity_owners_set: its backups stay; the previous primary owner stays as a backup if
    `keep_previous`, else is removed. A security admin does it to any identity; an owner to those
    they are the primary owner of. An identity already so owned is left as it is, and counted."""
    rows = _locked_batch(actor=actor, action=OWNERS, identities=identities)

    def hand_over(row):
        backups = [o.person for o in row.backups]
        if keep_previous and row.primary is not None:
            backups.append(row.primary.person)
        version = row.identity.version
        changed = services.identity_owners_set(
            actor=actor, identity=row.identity, primary_owner=primary_owner, backup_owners=backups, reason=reason,
        )
        return changed.version != version

    changed = sum(_one_by_one(rows, hand_over))
    return {"changed": changed, "unchanged": len(rows) - changed}
