"""Exposure pages: report a leaked token or private key (anyone signed in), see the reports (the
gate decides whose), report an identity's leaked key (its owners, on the identity page), and
confirm a report (security admins), which suspends and holds the identity, or dismiss it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_safe

from inventory.models import Status
from nhiportal.pages import page_of
from nhiportal.people.selectors import leaked_api_tokens
from nhiportal.service_forms import submit

from . import selectors
from .ending_previews import credential_disabling
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
                messages.success(request, f"Confirmed. {_what_confirming_did(confirmed.identity, selectors.exposure_confirm_outcome(confirmed), just_now=True)}")
                return redirect("tokens:exposure-detail", pk=exposure.pk)
    outcome = selectors.exposure_confirm_outcome(exposure)
    context = {
        "exposure": exposure, "form": form, "may_confirm": may_confirm(request.user) and exposure.is_open,
        "outcome": outcome, "outcome_text": _what_confirming_did(exposure.identity, outcome) if outcome is not None else "",
    }
    return render(request, "tokens/exposure_detail.html", context, status=400 if form.is_bound else 200)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _what_confirming_did(identity, outcome: dict, *, just_now: bool = False) -> str:
    """The confirmation's effect on the identity, as its event recorded it, so the words are
    true whatever state the identity was in. On the exposure's page in the past tense (it may
    have been reactivated since); `just_now`, for the message right after confirming."""
    name = identity.name
    if outcome.get("suspends_identity"):
        took = ""
        if "tokens_revoked" in outcome:  # kept since confirmations counted them
            took = f"{_plural(outcome['tokens_revoked'], 'token')} revoked"
            took += f", {_plural(outcome['tasks_ended'], 'open task')} ended" if outcome.get("tasks_ended") else ""
        if just_now:
            return f"{name} is suspended until a security admin reactivates it.{f' {took[0].upper()}{took[1:]}.' if took else ''}"
        return (f"Confirming suspended {name}{f' ({took})' if took else ''} and held it: it stays suspended until a "
                "security admin reactivates it, once its owners have rotated its keys.")
    if outcome.get("holds_identity"):
        if just_now:
            return f"{name} was suspended already; now held, it stays suspended until a security admin reactivates it (its owners cannot)."
        return (f"{name} was suspended already (its tokens revoked and its tasks ended then); confirming held it, so "
                "only a security admin reactivates it, not its owners.")
    status = outcome.get("identity_status")
    if status == Status.SUSPENDED:
        return f"{name} was suspended by a security admin already: it stays suspended until a security admin reactivates it."
    if status == Status.OFFBOARDED:
        return f"{name} was offboarded already: nothing was left to suspend."
    if status == Status.REGISTERED:
        return f"{name} was not in service yet (registered): nothing to suspend."
    return "The identity was out of service already: nothing to suspend."


@require_http_methods(["GET", "POST"])
@login_required
@sensitive_post_parameters("token")
def exposure_report(request):
    form = TokenExposureForm(request.POST or None)

    @sensitive_variables("data")  # the pasted secret, should an error report list this frame
    def report(data):
        return exposure_report_token(actor=request.user, **data)

    exposure = request.method == "POST" and submit(form, report)
    if exposure:
        # Says nothing of whose token it was: the reporter may not see that identity.
        if getattr(exposure, "personal_api_token", False):
            messages.success(request, (
                "Revoked: that personal API token no longer works. Its holder sees why on their API tokens page."
                if exposure.was_live else "Recorded. That personal API token no longer worked (expired or revoked already)."
            ))
        elif exposure.kind == ExposureKind.CREDENTIAL:
            # A pasted private key: as for a token, what it did and nothing of whose it was.
            revoked = f" {_plural(exposure.tokens_revoked, 'token')} obtained with it revoked." if exposure.tokens_revoked else ""
            messages.success(request, (
                f"Disabled: the portal no longer accepts that key.{revoked} The owners see the report."
                if exposure.was_live else
                "Recorded. That key no longer worked here (disabled already); the owners see the report."
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

    @sensitive_variables("data")
    def report(data):
        return exposure_report_credential(actor=request.user, credential=credential, **data)

    exposure = request.method == "POST" and submit(form, report)
    if exposure:
        if exposure.was_live:
            done = f"Disabled {credential}; {_plural(exposure.tokens_revoked, 'token')} obtained with it revoked."
        else:
            done = f"Recorded the leak. {credential} was disabled already."
        messages.success(request, f"{done} Register a new key pair for the agent.")
        return _back_to_identity(identity, "#credentials")
    if form.is_bound:
        _forget_token(form)
    # Counted now, as the Disable page counts them: what reporting will take (none if disabled already).
    context = {"identity": identity, "credential": credential, "form": form}
    if credential.enabled:
        context.update(credential_disabling(credential))
    return render(request, "tokens/credential_exposed.html", context, status=400 if form.is_bound else 200)
