"""The access request pages: ask for an identity's access, follow it, decide a stage.

Everyone signed in lists what they may see (their identities' requests, those on services
they own, those they asked); a request they may not see is a 404. Asking needs the right to
change the identity (its owners, security admins: 403 otherwise); deciding and cancelling
follow tokens/access_requests.py (403 otherwise).
"""

from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from inventory import visibility
from inventory.models import AIIdentity, Ownership, Status
from inventory.selectors import identity_get
from nhiportal.decisions import APPROVE, CANCEL, LIST_STATES, REJECT, decide, list_filters
from nhiportal.ids import as_id
from nhiportal.pages import page_of
from nhiportal.service_forms import submit

from . import access_requests, selectors
from .access_previews import access_preview
from .filters import AccessRequestFilter, page_filters, seen_identities
from .policy.access import can_read_policies
from .forms import AccessRequestForm
from .models import AccessRequest, AccessRequestState


@login_required
@require_safe
def access_request_list(request):
    # "Waiting for me" and "Mine" are offered to those they could ever hold something for.
    views = selectors.ACCESS_REQUEST_VIEWS if access_requests.takes_part(request.user) else ("all",)
    view, state = list_filters(request, views=views, waiting_count=lambda: selectors.waiting_access_request_count(request.user))
    filters = access_request_filters(request, selectors.access_request_list(user=request.user, view=view, state="" if state == "all" else state))
    page_obj = page_of(request, filters.rows())
    return render(
        request,
        "tokens/access_request_list.html",
        {
            "page_obj": page_obj,
            "access_requests": page_obj.object_list,
            "filters": filters,
            "view": view,
            "views": views,
            "state": state,
            "states": LIST_STATES,
            "may_ask": visibility.restrict(AIIdentity.objects.exclude(status=Status.OFFBOARDED), request.user, visibility.CHANGE).exists(),
        },
        status=200 if filters.valid else 400,
    )


def access_request_filters(request, requests):
    """The list's (and its export's) filters by identity and service. The list shows requests
    beyond the gate's identities (those on services one owns, those one asked), so it offers
    the identities of the requests one may see, and no other."""
    return page_filters(
        request, AccessRequestFilter, requests, identities=seen_identities(selectors.access_request_list(user=request.user)),
    )


@require_http_methods(["GET", "POST"])
@login_required
def access_request_create(request):
    identities = visibility.restrict(AIIdentity.objects.all(), request.user, visibility.CHANGE)
    initial = {}
    chosen = request.GET.get("identity")
    if chosen:
        try:
            identity = identity_get(user=request.user, pk=chosen)
        except ValidationError:  # not a UUID
            raise Http404 from None
        if not access_requests.may_request(request.user, identity):
            raise PermissionDenied
        initial["identity"] = identity.pk
    service_id = as_id(request.GET.get("service"))
    if service_id is not None:
        # "Ask again" from a grant: the same service and scopes, for the owner to adjust.
        initial["service"] = service_id
        initial["scopes"] = [f"{service_id}:{name}" for name in request.GET.getlist("scope")]
    form = AccessRequestForm(request.POST or None, initial=initial, identities=identities, refresh_url=request.path)
    created = request.method == "POST" and submit(
        form,
        lambda data: access_requests.access_request_create(
            actor=request.user, identity=data["identity"], service=data["service"], scopes=data.get("scope_names", []),
            ends_at=data["ends_at"], justification=data["justification"],
        ),
    )
    if created:
        messages.success(request, f"Asked for {' '.join(created.scopes)} on {created.service.name} for {created.identity.name}: {created.get_state_display().lower()}.")
        return redirect("tokens:access-request-detail", created.pk)
    return render(
        request,
        "tokens/access_request_form.html",
        {"form": form, "has_identities": identities.exists(), "cancel_url": reverse("tokens:access-request-list")},
        status=400 if form.is_bound else 200,
    )


def _approved(access_request: AccessRequest) -> str:
    if access_request.state == AccessRequestState.APPROVED:
        return (
            f"Approved: {access_request.identity.name} may ask for {' '.join(access_request.scopes)} on "
            f"{access_request.service.name} until {access_request.ends_at:%Y-%m-%d %H:%M} UTC."
        )
    return "Approved for the owners; the service's reviewer decides next."


def _may_preview(user, access_request) -> bool:
    """The preview names policy ids and reflects the identity's facts: for those who decide, or
    who may read policies and see the identity (not, say, a service owner with no role)."""
    if access_requests.may_decide(user, access_request):
        return True
    return can_read_policies(user) and visibility.can(user, visibility.VIEW, access_request.identity)


@require_http_methods(["GET", "POST"])
@login_required
def access_request_detail(request, pk):
    try:
        access_request = selectors.access_request_get(user=request.user, pk=pk)
    except AccessRequest.DoesNotExist:
        raise Http404 from None
    decision = decide(
        request,
        waiting=access_request.is_pending,
        may_decide=access_requests.may_decide(request.user, access_request),
        may_cancel=access_requests.may_cancel(request.user, access_request),
        act={
            APPROVE: partial(access_requests.access_request_approve, actor=request.user, access_request=access_request),
            REJECT: partial(access_requests.access_request_reject, actor=request.user, access_request=access_request),
            CANCEL: partial(access_requests.access_request_cancel, actor=request.user, access_request=access_request),
        },
        said={APPROVE: _approved, REJECT: lambda _: "Refused; the requester reads your reason on the request.", CANCEL: lambda _: "Cancelled the request."},
        stage=access_requests.stage_of(access_request),
        may_decide_stage=lambda seen: access_requests.may_decide(request.user, access_request, stage=seen),
    )
    if decision.done:
        return redirect("tokens:access-request-detail", access_request.pk)
    return render(
        request,
        "tokens/access_request_detail.html",
        {
            "ar": access_request,
            "stage": access_requests.stage_of(access_request),
            "may_decide": access_requests.may_decide(request.user, access_request),
            "may_cancel": access_requests.may_cancel(request.user, access_request),
            **decision.context(),
            "owners": Ownership.objects.filter(identity_id=access_request.identity_id).select_related("person"),
            "scope_rows": list(access_request.service.scopes.filter(name__in=access_request.scopes).order_by("name")),
            "asker": request.user.pk == access_request.requested_by_id,
            # What deciders most need before approving: whether the grant would ever yield a token.
            "preview": access_preview(access_request) if access_request.is_pending and _may_preview(request.user, access_request) else None,
            # Policy ids are for those who may read policies; a decider without a role sees the answer only.
            "shows_policy_ids": can_read_policies(request.user),
        },
        status=400 if request.method == "POST" else 200,
    )
