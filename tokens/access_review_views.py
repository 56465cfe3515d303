"""Access review pages: the rounds, one round's grants with keep and revoke, closing, and the
answers as CSV. Readers of everything see all; a service's owner sees its grants' items."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from inventory.charts import Bar, bar_chart
from nhiportal.csv_cells import csv_download
from nhiportal.ids import as_id
from nhiportal.pages import page_of
from nhiportal.people.roles import sees_everything
from nhiportal.service_forms import bulk_submit, submit

from . import access_reviews, ending_previews, usage
from .access_review_forms import AccessReviewForm, DecisionForm, KeepSeveralForm
from .filters import AccessReviewFilter, page_filters
from .models import AccessReview, Service
from .selectors import grant_state


def _gate(request):
    if not access_reviews.may_see_reviews(request.user):
        raise PermissionDenied("Access reviews are open to reviewers, compliance, security admins and service owners.")


def _review(request, pk):
    _gate(request)
    review = get_object_or_404(AccessReview.objects.select_related("service", "launched_by", "closed_by"), pk=pk)
    if not sees_everything(request.user) and not access_reviews.items_for(request.user, review).exists():
        raise Http404  # a service owner sees only the rounds over their services
    return review


def _back_to_page(request, review):
    """The round's page the person decided on (the forms post to ?page=N), not its first."""
    url = reverse("tokens:access-review-detail", args=[review.pk])
    page = as_id(request.GET.get("page"))
    return redirect(f"{url}?page={page}" if page else url)


@login_required
@require_safe
def review_list(request):
    _gate(request)
    filters = page_filters(request, AccessReviewFilter, access_reviews.reviews_for(request.user))
    return render(request, "tokens/access_review_list.html", {
        "page_obj": page_of(request, filters.rows()),
        "may_launch": access_reviews.may_launch(request.user),
        "filters": filters,
    }, status=200 if filters.valid else 400)


@login_required
def review_new(request):
    if not access_reviews.may_launch(request.user):
        raise PermissionDenied(access_reviews.LAUNCHERS)
    # From a service's page: that service, and a name to start from.
    service = Service.objects.filter(pk=as_id(request.GET.get("service"))).first()
    initial = {"service": service, "name": f"Access to {service.name}, {timezone.localdate():%B %Y}"} if service else {}
    form = AccessReviewForm(request.POST or None, initial=initial)
    if request.method == "POST":
        review = submit(form, lambda data: access_reviews.access_review_launch(actor=request.user, **data))
        if review:
            messages.success(request, f"Launched “{review.name}”: {review.items.count()} grants to review by {review.due:%Y-%m-%d}.")
            return redirect("tokens:access-review-detail", pk=review.pk)
    return render(request, "tokens/access_review_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_safe
def review_detail(request, pk):
    review = _review(request, pk)
    # A round over every service holds a grant per identity and service: a page at a time.
    page_obj = page_of(request, access_reviews.items_for(request.user, review))
    items = list(page_obj.object_list)
    allowed, not_yours = access_reviews.deciding(request.user, review, items)
    # The last-use column reads the grant's stored use, as the grants list does (grant_use.html).
    usage.with_uses([item.grant for item in items])
    for item in items:
        item.state = item.grant.state = grant_state(item.grant)
        item.may_decide = item.state == "live" and item.pk in allowed
        if item.state == "live" and item.pk in not_yours:
            item.others_decide = access_reviews.others_decide(request.user, item, not_yours[item.pk])
    counts = access_reviews.progress(review, request.user)
    chart = bar_chart([
        Bar("Kept", counts["kept"], "fill-allow"),
        Bar("Revoked", counts["revoked"], "fill-deny"),
        Bar("Waiting" if review.is_open else "Missed", counts["waiting"], "fill-suspended"),
    ], title="Decisions so far" if review.is_open else "Decisions, final")
    return render(request, "tokens/access_review_detail.html", {
        "review": review, "page_obj": page_obj, "items": items, "progress": counts, "chart": chart,
        "may_close": review.is_open and access_reviews.may_launch(request.user),
        "any_decidable": any(item.may_decide for item in items),
        "window_days": usage.window_days(),
    })


@login_required
@require_POST
def item_decide(request, pk, item_pk):
    review = _review(request, pk)
    item = get_object_or_404(access_reviews.items_for(request.user, review), pk=item_pk)
    form = DecisionForm(request.POST)
    if submit(form, lambda data: access_reviews.access_review_decide(actor=request.user, item=item, **data)):
        verb = "kept" if form.cleaned_data["decision"] == "keep" else "revoked, with its live tokens"
        messages.success(request, f"{item.grant.identity.name} on {item.grant.service.name}: {verb}.")
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return _back_to_page(request, review)


@login_required
@require_POST
def keep_several(request, pk):
    review = _review(request, pk)
    # Only the items ticked: a round can hold tens of thousands, and the rest are not at stake.
    ticked = access_reviews.items_for(request.user, review).filter(pk__in=[as_id(v) for v in request.POST.getlist("item") if as_id(v)])
    items = [item for item in ticked if item.grant.revoked_at is None]
    allowed = access_reviews.decidable(request.user, review, items)
    form = KeepSeveralForm(request.POST, decidable=access_reviews.items_for(request.user, review).filter(pk__in=allowed))
    kept = bulk_submit(request, form, lambda data: access_reviews.access_review_keep_several(actor=request.user, items=list(data["item"])), nothing="Nothing was kept")
    if kept:
        messages.success(request, f"Kept {kept} grant{'s' if kept != 1 else ''}.")
    return _back_to_page(request, review)


@login_required
@require_http_methods(["GET", "POST"])
def review_close(request, pk):
    """Closing is final, so it has a page of its own that says what it does to the grants nobody
    decided (GET); its button closes (POST)."""
    review = _review(request, pk)
    if not access_reviews.may_launch(request.user):
        raise PermissionDenied(access_reviews.CLOSERS)
    if not review.is_open:
        messages.info(request, "This review is closed already.")
        return redirect("tokens:access-review-detail", pk=review.pk)
    if request.method == "GET":
        return render(request, "tokens/access_review_close.html", {"review": review, "leaves": ending_previews.review_closing(review)})
    try:
        result = access_reviews.access_review_close(actor=request.user, review=review)
    except ValidationError as exc:  # a colleague, or the daily close, came first
        messages.info(request, " ".join(exc.messages))
    else:
        messages.success(request, _closed_message(review, result))
    return redirect("tokens:access-review-detail", pk=review.pk)


def _closed_message(review, result) -> str:
    """What closing did: the grants nobody decided are among the revoked when the round revokes
    them (counted once), else on record as missed."""
    unreviewed = result["unreviewed"]
    if review.revoke_unreviewed:
        why = f" ({unreviewed} of them because nobody decided)" if unreviewed else ""
        return f"Closed: {result['kept']} kept, {result['revoked']} revoked{why}."
    missed = f", {unreviewed} not reviewed (on record as missed; this round does not revoke them)" if unreviewed else ""
    return f"Closed: {result['kept']} kept, {result['revoked']} revoked{missed}."


@login_required
@require_safe
def review_export(request, pk):
    review = _review(request, pk)
    items = access_reviews.items_for(request.user, review)
    rows = (
        [i.grant.identity.name, str(i.grant.identity_id), i.grant.service.name, " ".join(i.grant.scopes),
         i.grant.ends_at.isoformat(), i.decision or "waiting", i.decided_by_label, i.decided_at.isoformat() if i.decided_at else "", i.reason]
        for i in items.iterator()
    )
    header = ["identity", "client_id", "service", "scopes", "grant_ends_at", "decision", "decided_by", "decided_at", "reason"]
    return csv_download(header, rows, f"access-review-{review.pk}.csv")
