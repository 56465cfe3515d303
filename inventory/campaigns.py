"""Attestation campaigns: reviewers ask many owners at once to attest their identities by a date.

Launching fixes the identities in scope (active or suspended ones, of an environment and a
kind if given) and brings each one's attestation due date forward to the campaign's, so the
dashboard, the overdue filter and the compliance evidence all see the deadline. An owner's
ordinary attestation (inventory/services.identity_attest) answers every open campaign item
of that identity. Closing records who closed it; what was not attested stays on record as
missed. Reviewers and security admins launch and close campaigns; every change writes one
audit event.
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from nhiportal.audit.services import actor_label, audit_record
from nhiportal.people.roles import REVIEWER, SECURITY_ADMIN, roles_of

from .models import AIIdentity, Campaign, CampaignItem, Status

LONGEST_DAYS = 365
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
def campaign_launch(*, actor, name: str, due, environment: str = "", kind: str = "", instructions: str = "") -> Campaign:
    if not may_run(actor):
        raise PermissionDenied("Reviewers and security admins run attestation campaigns.")
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "Name the campaign, e.g. “Q4 2026 production agents”."
    today = timezone.localdate()
    if due <= today:
        errors["due"] = "Choose a date after today."
    elif due > today + timedelta(days=LONGEST_DAYS):
        errors["due"] = f"Choose a date within {LONGEST_DAYS} days."
    identities = list(in_scope(environment=environment, kind=kind).select_for_update().values_list("pk", flat=True))
    if not identities and not errors:
        errors["environment"] = "No active or suspended identity is in this scope."
    if errors:
        raise ValidationError(errors)
    campaign = Campaign.objects.create(
        name=name, instructions=(instructions or "").strip(), due=due, environment=environment, kind=kind, launched_by=actor,
    )
    CampaignItem.objects.bulk_create([CampaignItem(campaign=campaign, identity_id=pk) for pk in identities])
    # The deadline moves forward, never back: an identity already due sooner stays so.
    moved = AIIdentity.objects.filter(pk__in=identities).exclude(attestation_due__lte=due).update(
        attestation_due=due, version=F("version") + 1, updated_at=timezone.now()
    )
    audit_record(
        actor=actor, action="campaign.launch", obj=campaign,
        after={"due": due, "environment": environment, "kind": kind, "identities": len(identities), "due_dates_moved": moved},
    )
    return campaign


def answer_open_items(identity, attestation) -> int:
    """An owner attested: the identity's open campaign items are answered (inside identity_attest)."""
    return CampaignItem.objects.filter(identity=identity, attestation__isnull=True, campaign__closed_at__isnull=True).update(
        attestation=attestation
    )


@transaction.atomic
def campaign_close(*, actor, campaign: Campaign) -> Campaign:
    if not may_run(actor):
        raise PermissionDenied("Reviewers and security admins run attestation campaigns.")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if not campaign.is_open:
        raise ValidationError("This campaign is already closed.")
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
