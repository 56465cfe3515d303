"""Reads for the campaign pages' confirmation steps: what closing a campaign would leave missed,
and whom it concerns. (The campaign's own progress is inventory/selectors.campaign_progress.)"""

from django.db.models import Count, Exists, OuterRef, Q

from .models import Campaign, Ownership


def closing_leaves(campaign: Campaign) -> dict:
    """Over all of the campaign's identities (only reviewers and security admins close one):
    how many are attested, how many closing marks missed, of those how many have no active
    owner left to answer, and how many active people own the missed ones."""
    active_owner = Ownership.objects.filter(identity=OuterRef("identity"), person__is_active=True)
    counts = campaign.items.annotate(has_active_owner=Exists(active_owner)).order_by().aggregate(
        total=Count("pk"),
        attested=Count("pk", filter=Q(attestation__isnull=False)),
        missed=Count("pk", filter=Q(attestation__isnull=True)),
        without_owner=Count("pk", filter=Q(attestation__isnull=True, has_active_owner=False)),
    )
    waiting = campaign.items.filter(attestation__isnull=True).values("identity")
    counts["owners"] = (
        Ownership.objects.filter(identity__in=waiting, person__is_active=True).values("person").distinct().count()
    )
    return counts
