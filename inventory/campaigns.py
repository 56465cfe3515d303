"""Attestation campaigns: reviewers ask many owners at once to attest their identities by a date.

Launching fixes the identities in scope (active or suspended ones, of an environment and a
kind if given) and brings each one's attestation due date forward to the campaign's, so the
dashboard, the overdue filter and the compliance evidence all see the deadline. An owner's
ordinary attestation (inventory/services.identity_attest) answers every open campaign item
of that identity. Closing records who closed it; what was not attested stays on record as
missed. Reviewers and security admins launch and close campaigns; every change writes one
audit event (the launch's records how many due dates it moved: the identities' own
histories do not repeat it, which for a campaign over thousands would be thousands of events).

A campaign may repeat (every 30, 90, 180 or 365 days): `manage.py repeat_campaigns`, a daily
step of the sweep, closes it when its time comes round and launches the next on the same
scope, with the same time to answer, in one transaction and two audit events. The launcher's
decision stands for the repeats; a reviewer or security admin stops them.
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from nhiportal.conflicts import StateConflict
from nhiportal.audit.services import actor_label, audit_record, system_actor
from nhiportal.conf import nhi_setting
from nhiportal.mail import send_claimed_rows
from nhiportal.people.roles import REVIEWER, SECURITY_ADMIN, roles_of

from .models import AIIdentity, Campaign, CampaignItem, Ownership, Status

LONGEST_DAYS = 365
REPEATS = (30, 90, 180, 365)
REMIND_DAYS = 3  # owners still asked this close to the due date are reminded once
RUNS_CAMPAIGNS = frozenset({REVIEWER, SECURITY_ADMIN})


def may_run(user) -> bool:
    return bool(roles_of(user) & RUNS_CAMPAIGNS)


def in_scope(*, environment: str = "", kind: str = ""):
    """The identities a campaign with this scope would ask about."""
    identities = AIIdentity.objects.filter(status__in=[Status.ACTIVE, Status.SUSPENDED])
    if environment:
        identities = identities.filter(environment=environment)
    if kind:
        identities = identities.filter(kind=kind)
    return identities


@transaction.atomic
def campaign_launch(
    *, actor, name: str, due, environment: str = "", kind: str = "", instructions: str = "", repeat_days: int | None = None
) -> Campaign:
    if not may_run(actor):
        raise PermissionDenied("Reviewers and security admins run attestation campaigns.")
    return _launch(
        actor=actor, launched_by=actor, name=name, due=due, environment=environment, kind=kind,
        instructions=instructions, repeat_days=repeat_days,
    )


def _launch(*, actor, launched_by, name, due, environment, kind, instructions, repeat_days=None, follows=None, launched_at=None) -> Campaign:
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "Name the campaign, e.g. “Q4 2026 production agents”."
    today = timezone.localdate()
    if due <= today:
        errors["due"] = "Choose a date after today."
    elif due > today + timedelta(days=LONGEST_DAYS):
        errors["due"] = f"Choose a date within {LONGEST_DAYS} days."
    if repeat_days is not None and repeat_days not in REPEATS:
        errors["repeat_days"] = f"Repeat every {', '.join(map(str, REPEATS))} days, or not at all."
    elif repeat_days is not None and due > today + timedelta(days=repeat_days - 1):
        # The next one would start while owners still answer this one.
        errors["repeat_days"] = "Repeat after the due date: choose a longer period or an earlier date."
    identities = list(in_scope(environment=environment, kind=kind).select_for_update().order_by("pk").values_list("pk", flat=True))
    if not identities and not errors:
        errors["environment"] = "No active or suspended identity is in this scope."
    if errors:
        raise ValidationError(errors)
    campaign = Campaign.objects.create(
        name=name, instructions=(instructions or "").strip(), due=due, environment=environment, kind=kind,
        launched_by=launched_by, repeat_days=repeat_days, follows=follows, launched_at=launched_at or timezone.now(),
    )
    CampaignItem.objects.bulk_create([CampaignItem(campaign=campaign, identity_id=pk) for pk in identities])
    # The deadline moves forward, never back: an identity already due sooner stays so.
    moved = AIIdentity.objects.filter(pk__in=identities).exclude(attestation_due__lte=due).update(
        attestation_due=due, version=F("version") + 1, updated_at=timezone.now()
    )
    audit_record(
        actor=actor, action="campaign.launch", obj=campaign,
        after={"due": due, "environment": environment, "kind": kind, "identities": len(identities), "due_dates_moved": moved,
               **({"repeat_days": repeat_days} if repeat_days else {}), **({"follows": follows.pk} if follows else {})},
    )
    return campaign


@transaction.atomic
def campaign_stop_repeating(*, actor, campaign: Campaign) -> Campaign:
    if not may_run(actor):
        raise PermissionDenied("Reviewers and security admins run attestation campaigns.")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.repeat_days is None or campaign.repeated_at is not None:
        raise StateConflict("This campaign does not repeat (any more).")
    audit_record(actor=actor, action="campaign.stop_repeating", obj=campaign, before={"repeat_days": campaign.repeat_days}, after={"repeat_days": None})
    campaign.repeat_days = None
    campaign.save(update_fields=["repeat_days"])
    return campaign


def next_launch(campaign: Campaign):
    """When a repeating campaign's next one launches; None if it does not repeat (any more)."""
    if campaign.repeat_days is None or campaign.repeated_at is not None:
        return None
    return campaign.launched_at + timedelta(days=campaign.repeat_days)


def campaigns_repeat(*, now=None) -> dict:
    """Launch the next of each repeating campaign whose time has come (manage.py repeat_campaigns).
    Each in its own transaction, claimed by locking the row and re-reading repeated_at, so
    several sweepers launch it once. One whose scope is empty today is tried again tomorrow."""
    now = now or timezone.now()
    actor = system_actor("repeat_campaigns")
    done = {"launched": 0, "empty": 0}
    due = Campaign.objects.filter(repeat_days__isnull=False, repeated_at__isnull=True).order_by("launched_at", "pk")
    for campaign in [c for c in due if next_launch(c) <= now]:
        try:
            with transaction.atomic():
                current = Campaign.objects.select_for_update().get(pk=campaign.pk)
                if current.repeat_days is None or current.repeated_at is not None:
                    continue  # another sweeper, or someone stopping it, came first
                # Closing locks the last round's identities and launching those in scope today,
                # each in pk order; taken as two runs, a person closing another campaign that
                # shares identities could hold one between them (a deadlock on PostgreSQL).
                # Locked together first, in one pk order, the later locks are already held.
                asked = CampaignItem.objects.filter(campaign=current).values("identity_id")
                scope = in_scope(environment=current.environment, kind=current.kind).values("pk")
                list(AIIdentity.objects.select_for_update().filter(Q(pk__in=asked) | Q(pk__in=scope)).order_by("pk").values_list("pk", flat=True))
                if current.is_open:
                    _close(actor=actor, campaign=current)
                answer_days = (current.due - timezone.localdate(current.launched_at)).days
                # The round starts when it was due, not when the (daily) sweep noticed: else each
                # would start up to a day after the last and the schedule drift. After a whole
                # period missed (the sweep stopped), it starts afresh now.
                anchor = next_launch(current)
                if now - anchor >= timedelta(days=current.repeat_days):
                    anchor = now
                due = max(timezone.localdate(anchor) + timedelta(days=answer_days), timezone.localdate(now) + timedelta(days=1))
                _launch(
                    actor=actor, launched_by=current.launched_by, name=current.name, due=due, environment=current.environment,
                    kind=current.kind, instructions=current.instructions, repeat_days=current.repeat_days, follows=current,
                    launched_at=anchor,
                )
                Campaign.objects.filter(pk=current.pk).update(repeated_at=now)
                done["launched"] += 1
        except ValidationError:
            done["empty"] += 1  # nothing in scope today (or the due date no longer fits): rolled back
    return done


def answer_open_items(identity, attestation) -> int:
    """An owner attested: the identity's open campaign items are answered (inside identity_attest)."""
    return CampaignItem.objects.filter(identity=identity, attestation__isnull=True, campaign__closed_at__isnull=True).update(
        attestation=attestation
    )


@transaction.atomic
def campaign_close(*, actor, campaign: Campaign) -> Campaign:
    if not may_run(actor):
        raise PermissionDenied("Reviewers and security admins run attestation campaigns.")
    return _close(actor=actor, campaign=campaign)


def _close(*, actor, campaign: Campaign) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if not campaign.is_open:
        raise StateConflict("This campaign is already closed.")
    # Attesting answers (and rejecting an attestation reopens) the items of the campaigns it
    # reads as open, under the identity's lock: holding its identities too (in pk order, as
    # launching does), each answer either lands before the count below or sees it closed.
    asked = CampaignItem.objects.filter(campaign=campaign).values("identity_id")
    list(AIIdentity.objects.select_for_update().filter(pk__in=asked).order_by("pk").values_list("pk", flat=True))
    campaign.closed_at = timezone.now()
    campaign.closed_by_label = actor_label(actor)[:200]
    campaign.save(update_fields=["closed_at", "closed_by_label"])
    items = campaign.items.all()
    audit_record(
        actor=actor, action="campaign.close", obj=campaign,
        after={"identities": items.count(), "attested": items.filter(attestation__isnull=False).count(),
               "missed": items.filter(attestation__isnull=True).count()},
    )
    return campaign


def _digest(campaign: Campaign, identities: list, base_url: str, *, reminder: bool) -> str:
    count = f"{len(identities)} identit{'y' if len(identities) == 1 else 'ies'}"
    lines = [
        (f"Reminder: the attestation campaign “{campaign.name}” still waits for you to attest {count} you own by {campaign.due:%Y-%m-%d}."
         if reminder else
         f"The attestation campaign “{campaign.name}” asks you to attest {count} you own by {campaign.due:%Y-%m-%d}: "
         "confirm each is still needed and its purpose, scopes and owners still right."),
        "",
    ]
    if campaign.instructions:
        lines += [campaign.instructions, ""]
    lines += [f"- {identity.name}: {base_url}/identities/{identity.pk}/#attest" for identity in identities]
    lines += ["", "If one is no longer needed, offboard it instead."]
    return "\n".join(lines)


def _owner_digests(campaigns: list) -> dict:
    """(campaign id, person) -> the identities it still waits for that person to attest."""
    waiting = (
        CampaignItem.objects.filter(campaign__in=campaigns, attestation__isnull=True)
        .exclude(identity__status=Status.OFFBOARDED)  # offboarded since the launch: nothing to attest
        .select_related("identity")
    )
    owned_by = {}
    owners = Ownership.objects.filter(identity__in=waiting.values("identity"), person__is_active=True).exclude(person__email="")
    for ownership in owners.select_related("person"):
        owned_by.setdefault(ownership.identity_id, []).append(ownership.person)
    digests = {}
    for item in waiting.order_by("identity__name"):
        for person in owned_by.get(item.identity_id, []):
            digests.setdefault((item.campaign_id, person), []).append(item.identity)
    return digests


def _tell_owners(*, actor, campaigns_to_tell, reminder: bool) -> dict:
    """One mail per campaign and owner; the campaigns are claimed (announced_at or reminded_at)
    before any mail goes out, so two runs never both send, and withdrawn if the mail server
    refuses, so the next run tries again."""
    mark = "reminded_at" if reminder else "announced_at"
    action = "campaigns.remind" if reminder else "campaigns.notify"
    with transaction.atomic():
        campaigns = list(campaigns_to_tell.select_for_update())
        if not campaigns:
            return {"campaigns": 0, "people": 0}
        digests = _owner_digests(campaigns)
        now = timezone.now()
        for campaign in campaigns:
            setattr(campaign, mark, now)
            fields = [mark]
            if not reminder:
                campaign.owners_told = sum(1 for (campaign_id, _) in digests if campaign_id == campaign.pk)
                fields.append("owners_told")
            campaign.save(update_fields=fields)
        audit_record(
            actor=actor, action=action, object_type="inventory.campaign", object_id="campaigns",
            object_repr="campaign reminders" if reminder else "campaign announcements",
            after={"campaigns": len(campaigns), "messages": len(digests)},
        )
    base_url = nhi_setting("ISSUER").rstrip("/")
    by_id = {c.pk: c for c in campaigns}
    messages = [
        EmailMessage(
            subject=f"[NHI Portal] {'Reminder: a' if reminder else 'A'}ttest {len(identities)} identit{'y' if len(identities) == 1 else 'ies'} by {by_id[cid].due:%Y-%m-%d}",
            body=_digest(by_id[cid], identities, base_url, reminder=reminder), to=[person.email],
        )
        for (cid, person), identities in digests.items()
    ]

    def withdraw(error, campaign_ids):
        Campaign.objects.filter(pk__in=campaign_ids).update(**({mark: None} if reminder else {mark: None, "owners_told": 0}))
        audit_record(
            actor=actor, action=f"{action}_failed", object_type="inventory.campaign", object_id="campaigns",
            object_repr="campaign reminders" if reminder else "campaign announcements",
            after={"campaigns": len(campaign_ids)}, reason=str(error)[:200],
        )

    send_claimed_rows(messages, rows_of=[[cid] for (cid, _) in digests], claimed=list(by_id), withdraw=withdraw)
    return {"campaigns": len(campaigns), "people": len({person.pk for (_, person) in digests})}


def campaigns_notify(*, actor) -> dict:
    """Announce each newly launched campaign to its owners, and remind those still asked
    REMIND_DAYS before the due date (each once)."""
    open_campaigns = Campaign.objects.filter(closed_at__isnull=True)
    announced = _tell_owners(actor=actor, campaigns_to_tell=open_campaigns.filter(announced_at__isnull=True), reminder=False)
    reminded = _tell_owners(
        actor=actor, reminder=True,
        campaigns_to_tell=open_campaigns.filter(
            announced_at__isnull=False, reminded_at__isnull=True, due__lte=timezone.localdate() + timedelta(days=REMIND_DAYS)
        ),
    )
    return {**announced, "reminded": reminded["campaigns"], "reminded_people": reminded["people"]}
