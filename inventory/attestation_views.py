"""The attestation pages: the attestations one may see, and reviewing one.

Attestations are seen through the one gate (whoever sees the identity sees its
attestations); anything else is a 404. Reviewers and security admins who neither made the
attestation nor own the identity confirm or reject it (403 for anyone else).
"""

from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nhiportal.decisions import APPROVE, REJECT, decide, list_filters
from nhiportal.ids import as_uuid
from nhiportal.pages import page_of
from nhiportal.service_forms import bulk_submit

from . import attestation_reviews, selectors, visibility
from .forms import AttestationsConfirmForm
from .models import AIIdentity, Attestation, AttestationReview


@require_GET
@login_required
def attestation_list(request):
    view, state = list_filters(
        request, views=selectors.ATTESTATION_VIEWS, waiting_count=lambda: selectors.waiting_attestation_count(request.user),
        states=selectors.ATTESTATION_STATES,
    )
    # ?identity=: one identity's attestations (its page links here), if the person may see it.
    identity = visibility.restrict(AIIdentity.objects.all(), request.user).filter(pk=as_uuid(request.GET.get("identity"))).first()
    page_obj = page_of(
        request, selectors.attestation_list(user=request.user, view=view, state="" if state == "all" else state, identity=identity),
    )
    return render(
        request, "inventory/attestation_list.html",
        {
            "page_obj": page_obj, "attestations": page_obj.object_list, "view": view, "views": selectors.ATTESTATION_VIEWS,
            "state": state, "states": selectors.ATTESTATION_STATES, "identity": identity,
        },
    )



@require_POST
@login_required
def attestations_confirm(request):
    """The list's bulk action: confirm each attestation ticked that still waits for this reviewer."""
    # Any the reviewer would review: one reviewed or superseded since the list was read is the
    # service's to leave alone and count, not a reason to refuse the rest.
    form = AttestationsConfirmForm(request.POST, choices=selectors.reviewable_attestations(request.user))
    done = bulk_submit(
        request, form, lambda data: attestation_reviews.attestations_confirm(actor=request.user, attestations=list(data["attestation"]), reason=data["reason"]),
        nothing="Nothing was confirmed",
    )
    if done is not None:
        said = f"Confirmed {done['confirmed']} attestation{pluralize(done['confirmed'])}."
        if done["no longer waiting"]:
            said += f" {done['no longer waiting']} left as {pluralize(done['no longer waiting'], 'it was,they were')}: reviewed or superseded since the list was read."
        messages.success(request, said)
    return redirect(f"{reverse('inventory:attestation-list')}?view=waiting")


@require_http_methods(["GET", "POST"])
@login_required
def attestation_detail(request, pk):
    try:
        attestation = selectors.attestation_get(user=request.user, pk=pk)
    except Attestation.DoesNotExist:
        raise Http404 from None
    may_review = attestation_reviews.may_review(request.user, attestation)
    decision = decide(
        request,
        waiting=attestation.review == AttestationReview.PENDING,
        may_decide=may_review,
        may_cancel=False,
        act={
            APPROVE: partial(attestation_reviews.attestation_confirm, actor=request.user, attestation=attestation),
            REJECT: partial(attestation_reviews.attestation_reject, actor=request.user, attestation=attestation),
        },
        said={
            APPROVE: lambda done: f"Confirmed the attestation of {done.identity.name}.",
            REJECT: lambda done: f"Rejected the attestation: {done.identity.name} is due for attestation again, and its owners read your reason.",
        },
    )
    if decision.done:
        return redirect("inventory:attestation-detail", attestation.pk)
    identity = attestation.identity
    return render(
        request, "inventory/attestation_detail.html",
        {
            "attestation": attestation,
            "identity": identity,
            "may_review": may_review,
            **decision.context(),
            "owners": identity.ownerships.select_related("person").order_by("role", "person__username"),
            "earlier": selectors.attestation_list(user=request.user, identity=identity).exclude(pk=attestation.pk)[:5],
        },
        status=400 if request.method == "POST" else 200,
    )
