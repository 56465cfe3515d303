"""The ownership claim pages: orphaned identities, claiming one, and deciding a claim.

People who may own an identity (owners, security admins) claim an orphan, and reviewers and
compliance see the orphans; reviewers and security admins who are not the claimant decide (403
otherwise), and are not offered to approve a claimant who may no longer be made an owner. A claim is seen by its claimant and
by those who read everything; to anyone else it is a 404. People with no role get 403 on the
orphan list: it is a window past the gate, kept to those who may act on it.
"""

from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from nhiportal.decisions import APPROVE, CANCEL, LIST_STATES, REJECT, decide, list_filters
from nhiportal.pages import page_of
from nhiportal.people.roles import sees_everything
from nhiportal.service_forms import submit

from . import claims, selectors
from .forms import ClaimForm
from .models import AIIdentity, ClaimState, OwnershipClaim
from .orphans import suspension_due
from .owner_roles import cannot_own, may_own

@login_required
@require_safe
def orphaned_list(request):
    if not (claims.may_claim(request.user) or sees_everything(request.user)):
        raise PermissionDenied
    page_obj = page_of(request, selectors.orphaned_to_claim(request.user))
    for identity in page_obj.object_list:
        identity.suspension_due = suspension_due(identity)
    return render(
        request, "inventory/claim_orphaned.html",
        {"page_obj": page_obj, "identities": page_obj.object_list, "may_claim": claims.may_claim(request.user)},
    )


@login_required
@require_safe
def claim_list(request):
    views = selectors.CLAIM_VIEWS
    if not claims.may_claim(request.user) and not selectors.claim_list(user=request.user, view="mine", state="").exists():
        views = tuple(v for v in views if v != "mine")  # reviewers and compliance make no claims: an always-empty tab
    view, state = list_filters(request, views=views, waiting_count=lambda: selectors.waiting_claim_count(request.user))
    page_obj = page_of(request, selectors.claim_list(user=request.user, view=view, state="" if state == "all" else state))
    return render(
        request, "inventory/claim_list.html",
        {"page_obj": page_obj, "claims": page_obj.object_list, "view": view, "views": views, "state": state, "states": LIST_STATES},
    )


@require_http_methods(["GET", "POST"])
@login_required
def claim_create(request, pk):
    if not claims.may_claim(request.user):
        raise PermissionDenied
    try:
        identity = selectors.orphaned_to_claim(request.user).get(pk=pk)
    except AIIdentity.DoesNotExist:
        raise Http404 from None  # not orphaned (any more), or no such identity: nothing to claim
    form = ClaimForm(request.POST or None)
    claim = request.method == "POST" and submit(form, lambda data: claims.claim_create(actor=request.user, identity=identity, **data))
    if claim:
        messages.success(request, f"Claimed {identity.name}; a reviewer decides.")
        return redirect("inventory:claim-detail", claim.pk)
    return render(request, "inventory/claim_form.html", {"form": form, "identity": identity}, status=400 if form.is_bound else 200)


@require_http_methods(["GET", "POST"])
@login_required
def claim_detail(request, pk):
    try:
        claim = selectors.claim_get(user=request.user, pk=pk)
    except OwnershipClaim.DoesNotExist:
        raise Http404 from None
    decision = decide(
        request,
        waiting=claim.state == ClaimState.PENDING,
        may_decide=claims.may_decide(request.user, claim),
        may_cancel=claims.may_cancel(request.user, claim),
        act={
            APPROVE: partial(claims.claim_approve, actor=request.user, claim=claim),
            REJECT: partial(claims.claim_reject, actor=request.user, claim=claim),
            CANCEL: partial(claims.claim_cancel, actor=request.user, claim=claim),
        },
        said={
            APPROVE: lambda done: f"{done.claimant.get_username()} is now the primary owner of {done.identity.name}.",
            REJECT: lambda _: "Refused the claim; the claimant reads your reason on it.",
            CANCEL: lambda _: "Withdrew the claim.",
        },
    )
    if decision.done:
        return redirect("inventory:claim-detail", claim.pk)
    return render(
        request, "inventory/claim_detail.html",
        {
            "claim": claim,
            "may_decide": claims.may_decide(request.user, claim),
            "may_cancel": claims.may_cancel(request.user, claim),
            **decision.context(),
            "owners": claim.identity.ownerships.select_related("person"),
            "other_claims": claim.identity.claims.exclude(pk=claim.pk).filter(state=ClaimState.PENDING).select_related("claimant"),
            "still_orphaned": claims.is_orphaned(claim.identity),
            # Their role changed since they claimed: approving is refused, so only refusing is offered.
            "claimant_refused": "" if may_own(claim.claimant) else cannot_own(claim.claimant),
        },
        status=400 if request.method == "POST" else 200,
    )
