"""Exposure pages: report a leaked token (anyone signed in), see the reports (the gate decides
whose), report an identity's leaked key (its owners, on the identity page), and confirm a
report (security admins), which suspends the identity, or dismiss it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_safe

from inventory.models import Status
from nhiportal.pages import page_of
from nhiportal.people.selectors import leaked_api_tokens
from nhiportal.service_forms import submit

from . import selectors
from .exposures import (
    exposure_confirm,
    exposure_dismiss,
    exposure_report_credential,
    exposure_report_token,
    holds_secret,
    may_confirm,
)
from .filters import ExposureFilter, page_filters
from .forms import CredentialExposureForm, ReasonForm, TokenExposureForm
from .identity_views import _back_to_identity, _identity_to_change
from .models import ExposureKind, WorkloadCredential

LEAKED_API_TOKENS_SHOWN = 10


def _forget_token(form) -> None:
    # A refused paste is not echoed back into the page, nor a secret put where the place goes.
    form.data = form.data.copy()
    if "token" in form.fields and form.data.get(form.add_prefix("token")):
        form.data[form.add_prefix("token")] = ""
        if "token" not in form.errors:
            # Else the reporter sees an empty field and thinks the paste was lost by mistake.
            form.add_error("token", "Cleared on purpose, so the page does not show the secret again: paste it once more.")
    if holds_secret(form.data.get(form.add_prefix("where_found"), "")):
        form.data[form.add_prefix("where_found")] = ""


@login_required
@require_safe
def exposure_list(request):
    state = request.GET.get("state", "")
    state = state if state in selectors.EXPOSURE_STATES else ""
    filters = page_filters(
        request, ExposureFilter, selectors.exposure_list(user=request.user, state=state),
        identities=selectors.visible_identities(request.user),
    )
    page_obj = page_of(request, filters.rows())
    # Personal tokens have no confirm or dismiss, nor an identity: listed under All only, unfiltered, the latest few.
    leaked = leaked_api_tokens(request.user) if not state and not filters.filtering else None
    return render(request, "tokens/exposure_list.html", {
        "page_obj": page_obj, "exposures": page_obj.object_list, "state": state, "states": selectors.EXPOSURE_STATES,
        "filters": filters,
        "leaked_api_tokens": leaked[:LEAKED_API_TOKENS_SHOWN] if leaked is not None else [],
        "leaked_api_tokens_count": leaked.count() if leaked is not None else 0,
        "reported_any": selectors.exposures_reported_by(request.user).exists(),
    }, status=200 if filters.valid else 400)


@login_required
@require_safe
def exposure_mine(request):
    """The leaks this person reported, whoever's they were: when, how each stands, that it is
    being handled. The identity is named, and the report opens, only where they may see it."""
    page_obj = page_of(request, selectors.exposures_reported_by(request.user))
    return render(request, "tokens/exposure_mine.html", {"page_obj": page_obj, "exposures": page_obj.object_list})


@require_http_methods(["GET", "POST"])
@login_required
def exposure_detail(request, pk):
    exposure = get_object_or_404(selectors.exposure_list(user=request.user), pk=pk)
    form = ReasonForm(request.POST or None)
    if request.method == "POST":
        if not may_confirm(request.user):
            raise PermissionDenied("Only security admins confirm or dismiss exposures.")
        decision = request.POST.get("decision")
        if decision not in ("confirm", "dismiss"):
            # Confirming suspends an identity: never the fallback for a post that names neither.
            form.is_valid()
            form.add_error(None, "Choose to confirm the exposure or to dismiss it.")
        elif decision == "dismiss":
            if submit(form, lambda data: exposure_dismiss(actor=request.user, exposure=exposure, reason=data["reason"])):
                messages.success(request, "Dismissed: no suspension. What the report revoked stays revoked.")
                return redirect("tokens:exposure-detail", pk=exposure.pk)
        else:
            confirmed = submit(form, lambda data: exposure_confirm(actor=request.user, exposure=exposure, reason=data["reason"]))
            if confirmed:
                identity = confirmed.identity  # read afresh: the confirmation may have suspended it
                # Suspended by a security admin, so held: its owners cannot reactivate it (inventory/services.py).
                who = "a security admin reactivates it" if identity.held_by_security_admin else "its owners reactivate it"
                suspended = f" {identity.name} is suspended until {who}." if identity.status == Status.SUSPENDED else ""
                messages.success(request, f"Confirmed.{suspended}")
                return redirect("tokens:exposure-detail", pk=exposure.pk)
    context = {"exposure": exposure, "form": form, "may_confirm": may_confirm(request.user) and exposure.is_open}
    return render(request, "tokens/exposure_detail.html", context, status=400 if form.is_bound else 200)


@require_http_methods(["GET", "POST"])
@login_required
@sensitive_post_parameters("token")
def exposure_report(request):
    form = TokenExposureForm(request.POST or None)
    exposure = request.method == "POST" and submit(form, lambda data: exposure_report_token(actor=request.user, **data))
    if exposure:
        # Says nothing of whose token it was: the reporter may not see that identity.
        if getattr(exposure, "personal_api_token", False):
            messages.success(request, (
                "Revoked: that personal API token no longer works. Its holder sees why on their API tokens page."
                if exposure.was_live else "Recorded. That personal API token no longer worked (expired or revoked already)."
            ))
        elif exposure.kind == ExposureKind.PLATFORM:
            revoked = f" {exposure.tokens_revoked} token{'s' if exposure.tokens_revoked != 1 else ''} it obtained revoked." if exposure.tokens_revoked else ""
            messages.success(request, (
                f"Shut out: the portal will not accept that platform token again.{revoked} The owners see the report."
                if exposure.was_live else
                f"Recorded. That platform token no longer worked here (expired, or its credential disabled).{revoked} The owners see the report."
            ))
        elif exposure.tokens_revoked:
            revoked = exposure.tokens_revoked
            messages.success(request, f"Revoked: {revoked} token{'s' if revoked != 1 else ''} no longer work{'s' if revoked == 1 else ''}. The owners see the report.")
        else:
            messages.success(request, "Recorded. The token no longer worked (expired or revoked already); the owners see the report.")
        # The reporter follows the report among theirs (a personal API token's holder follows it instead).
        return redirect("tokens:exposure-report" if getattr(exposure, "personal_api_token", False) else "tokens:exposure-mine")
    if form.is_bound:
        _forget_token(form)
    return render(request, "tokens/exposure_report.html", {"form": form}, status=400 if form.is_bound else 200)


@require_http_methods(["GET", "POST"])
@login_required
def credential_exposed(request, pk, credential_pk):
    identity = _identity_to_change(request, pk)
    credential = get_object_or_404(WorkloadCredential, pk=credential_pk, identity=identity)
    form = CredentialExposureForm(request.POST or None)
    exposure = request.method == "POST" and submit(
        form, lambda data: exposure_report_credential(actor=request.user, credential=credential, **data)
    )
    if exposure:
        messages.success(request, f"Disabled {credential}; {exposure.tokens_revoked} token{'s' if exposure.tokens_revoked != 1 else ''} revoked. Register a new key for the agent.")
        return _back_to_identity(identity, "#credentials")
    if form.is_bound:
        _forget_token(form)
    return render(
        request, "tokens/credential_exposed.html", {"identity": identity, "credential": credential, "form": form},
        status=400 if form.is_bound else 200,
    )
