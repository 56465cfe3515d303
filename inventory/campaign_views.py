"""Attestation campaign pages: the list, launching one, its progress, closing, and its CSV.

Everyone signed in lists the campaigns they may see (all of them for reviewers, compliance
and security admins; for owners, those asking about their identities); any other campaign is
a 404. Reviewers and security admins launch and close them (403 otherwise); closing and
stopping the repeats each confirm on a page of their own, saying what will happen.
"""


from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from nhiportal.csv_cells import csv_download
from nhiportal.pages import page_of
from nhiportal.service_forms import submit

from . import campaign_selectors, campaigns, claims, selectors
from .charts import Bar, bar_chart
from .forms import CampaignForm
from .models import Campaign


def _campaign(request, pk) -> Campaign:
    try:
        return selectors.campaign_get(user=request.user, pk=pk)
    except Campaign.DoesNotExist:
        raise Http404 from None


@login_required
@require_safe
def campaign_list(request):
    page_obj = page_of(request, selectors.campaign_list(user=request.user))
    return render(
        request, "inventory/campaign_list.html",
        {"page_obj": page_obj, "campaigns": page_obj.object_list, "may_run": campaigns.may_run(request.user),
         "asked_of_me": selectors.attestations_asked_of(request.user)[:20], "today": timezone.localdate()},
    )


@require_http_methods(["GET", "POST"])
@login_required
def campaign_launch(request):
    if not campaigns.may_run(request.user):
        raise PermissionDenied
    form = CampaignForm(request.POST or None)
    campaign = request.method == "POST" and submit(form, lambda data: campaigns.campaign_launch(actor=request.user, **data))
    if campaign:
        messages.success(request, f"Launched “{campaign.name}”: {campaign.items.count()} identities to attest by {campaign.due:%Y-%m-%d}.")
        return redirect("inventory:campaign-detail", campaign.pk)
    return render(request, "inventory/campaign_form.html", {"form": form}, status=400 if form.is_bound else 200)


@login_required
@require_safe
def campaign_detail(request, pk):
    campaign = _campaign(request, pk)
    state = request.GET.get("state", "waiting")
    if state not in selectors.CAMPAIGN_ITEM_STATES:
        state = "waiting"
    page_obj = page_of(request, selectors.campaign_items(campaign=campaign, user=request.user, state=state))
    progress = selectors.campaign_progress(campaign, request.user)
    url = reverse("inventory:campaign-detail", args=[campaign.pk])
    # Once closed, what still waited is missed for good: the figures are final, and say so.
    unanswered = "Waiting" if campaign.is_open else "Missed"
    chart = bar_chart(
        [
            Bar("Attested", progress["attested"], "fill-active", f"{url}?state=attested"),
            Bar(unanswered, progress["waiting"] - progress["without_owner"], "fill-suspended", f"{url}?state=waiting"),
            Bar("No owner", progress["without_owner"], "fill-offboarded", f"{url}?state=waiting"),
        ],
        title=f"{campaign.name}: {'progress' if campaign.is_open else 'final count'}",
    )
    return render(
        request, "inventory/campaign_detail.html",
        {
            "campaign": campaign, "progress": progress, "chart": chart, "page_obj": page_obj, "items": page_obj.object_list,
            "state": state, "may_run": campaigns.may_run(request.user), "may_claim": claims.may_claim(request.user),
            "states": [(s, unanswered if s == "waiting" else s.capitalize()) for s in selectors.CAMPAIGN_ITEM_STATES],
            "today": timezone.localdate(), "next_launch": campaigns.next_launch(campaign),
            "percent": round(100 * progress["attested"] / progress["total"]) if progress["total"] else 0,
        },
    )


def _campaign_action(act, *, done: str, already: str, applies, template: str, preview=None):
    """A reviewer's or security admin's action on a campaign. It cannot be undone, so it has a
    page of its own that says what it will do (GET), whose button does it (POST); then back to
    the campaign. A second click (or a colleague first) is told so, not refused. `applies(campaign)`:
    whether it still can; `preview(campaign)`: what the confirmation page shows."""

    @require_http_methods(["GET", "POST"])
    @login_required
    def view(request, pk):
        campaign = _campaign(request, pk)
        if not campaigns.may_run(request.user):
            raise PermissionDenied
        if request.method == "GET":
            if not applies(campaign):
                messages.info(request, already.format(name=campaign.name))
                return redirect("inventory:campaign-detail", campaign.pk)
            return render(request, template, {
                "campaign": campaign, "next_launch": campaigns.next_launch(campaign), "today": timezone.localdate(),
                **(preview(campaign) if preview else {}),
            })
        try:
            act(actor=request.user, campaign=campaign)
        except ValidationError:
            messages.info(request, already.format(name=campaign.name))
        else:
            messages.success(request, done.format(name=campaign.name))
        return redirect("inventory:campaign-detail", campaign.pk)

    return view


campaign_close = _campaign_action(
    campaigns.campaign_close,
    done="Closed “{name}”. What was not attested stays on record as missed.", already="“{name}” was already closed.",
    applies=lambda campaign: campaign.is_open, template="inventory/campaign_close.html",
    preview=lambda campaign: {"leaves": campaign_selectors.closing_leaves(campaign)},
)
campaign_stop_repeating = _campaign_action(
    campaigns.campaign_stop_repeating,
    done="“{name}” will not repeat: its next round will not launch.", already="“{name}” does not repeat any more.",
    applies=lambda campaign: campaigns.next_launch(campaign) is not None, template="inventory/campaign_stop_repeating.html",
    preview=lambda campaign: {"leaves": campaign_selectors.closing_leaves(campaign)},
)


CSV_HEADER = [
    "identity", "environment", "kind", "primary_owner", "attested", "attested_at", "attested_by", "note",
    "review", "reviewed_by", "reviewed_at", "review_reason",
]


@login_required
@require_safe
def campaign_export(request, pk):
    """The campaign's identities the user may see, answered or not: evidence for an auditor."""
    campaign = _campaign(request, pk)
    items = selectors.campaign_items(campaign=campaign, user=request.user, state="all")
    rows = (
        (
            item.identity.name, item.identity.environment, item.identity.kind, item.primary_owner_name or "",
            "yes" if item.attestation else "no",
            item.attestation.attested_at.isoformat() if item.attestation else "",
            item.attestation.person.get_username() if item.attestation else "",
            item.attestation.note if item.attestation else "",
            # A second person's review of the answer (inventory/attestation_reviews.py).
            item.attestation.review if item.attestation else "",
            item.attestation.reviewed_by_label if item.attestation else "",
            item.attestation.reviewed_at.isoformat() if item.attestation and item.attestation.reviewed_at else "",
            item.attestation.review_reason if item.attestation else "",
        )
        for item in items.iterator(chunk_size=2000)
    )
    return csv_download(CSV_HEADER, rows, f"campaign-{campaign.pk}.csv")
