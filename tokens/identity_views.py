"""Pages about one identity's runtime access: its credentials, grants, tasks and tokens.

The identity page loads the two panels with htmx. Who may see the identity sees the panels
(404 for outsiders); its owners and security admins change things (403 for read-only roles).
What cannot be undone (disabling a credential, ending a task or a delegation, revoking a
token) is confirmed on a page of its own that counts what it takes.
"""

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_http_methods, require_safe

from inventory import visibility
from inventory.charts import Column, column_chart
from nhiportal.conf import nhi_setting
from nhiportal.service_forms import submit
from inventory.selectors import identity_get, is_unscored
from nhiportal.people.roles import is_security_admin

from . import access_requests, ending_previews, selectors
from .activity import daily_activity
from .blast_radius import blast_radius
from .credentials import credential_add_federated, credential_add_jwk, credential_add_spiffe, credential_disable
from .delegations import delegation_create, delegation_revoke
from .forms import (
    DelegationForm, FederatedCredentialForm, JWKCredentialForm, NetworkRecogniseForm, OptionalReasonForm, SpiffeCredentialForm,
    forget_pasted_private_key,
)
from .models import Delegation, FederatedIssuer, IssuedToken, Task, TrustDomain, WorkloadCredential
from .revocation import task_end, token_revoke
from .rotation import max_age_days
from .services import self_grant_refusal
from .source_networks import NEW_NETWORK_DAYS, identity_bind_to_seen_networks, identity_sources, network_recognise
from .access_reviews import may_see_reviews
from .posture import posture
from .unused_identities import is_unused
from .usage import window_days


def _identity_to_change(request, pk):
    identity = identity_get(user=request.user, pk=pk)
    if not visibility.can(request.user, visibility.CHANGE, identity):
        raise PermissionDenied
    return identity


def _back_to_identity(identity, anchor: str):
    return redirect(reverse("inventory:identity-detail", args=[identity.pk]) + anchor)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def _confirm_ending(request, identity, *, anchor, template, ended, act, default_reason, title, submit_label, context):
    """An action on the identity page that cannot be undone (disable a credential, end a task,
    revoke a token, end a delegation) has a page of its own: GET says what it will take, counted
    now (context()), with an optional reason; its button POSTs and act(reason) does it, returning
    the message to show back on the identity page at `anchor`. What has ended already (a second
    click, or a colleague first) is told so (`ended`), not refused."""
    back = _back_to_identity(identity, anchor)
    if ended:
        messages.info(request, ended)
        return back
    # Bound on every POST, an empty one too: the reason is optional, the button is the confirmation.
    form = OptionalReasonForm(request.POST if request.method == "POST" else None)
    done = request.method == "POST" and submit(form, lambda data: act(data["reason"] or default_reason))
    if done:
        messages.success(request, done)
        return back
    return render(request, template, {
        "identity": identity, "form": form, "title": title, "submit_label": submit_label, "default_reason": default_reason,
        "cancel_url": back.url, **context(),
    }, status=400 if form.is_bound else 200)


@login_required
@require_safe
def credentials_panel(request, pk):
    identity = identity_get(user=request.user, pk=pk)
    sources = identity_sources(identity, timezone.now())
    return render(
        request,
        "tokens/partials/credentials_panel.html",
        {
            "identity": identity,
            "credentials": selectors.identity_credentials(identity),
            "max_age_days": max_age_days(),
            "exposures": selectors.identity_exposures(identity),
            "sources": sources,
            "sources_new": any(s["new"] for s in sources),
            "sources_not_allowed": sorted(s["network"] for s in sources) != sorted(identity.allowed_networks),
            "new_network_days": NEW_NETWORK_DAYS,
            "may_change": visibility.can(request.user, visibility.CHANGE, identity) and not identity.is_offboarded,
        },
    )


@login_required
@require_safe
def access_panel(request, pk):
    identity = identity_get(user=request.user, pk=pk)
    grants = is_security_admin(request.user) and not identity.is_offboarded
    # A security admin who owns it may not grant it (separation of duties): say whom to ask instead.
    grant_refusal = self_grant_refusal(request.user, identity) if grants else ""
    return render(
        request,
        "tokens/partials/access_panel.html",
        {
            "identity": identity,
            "access": selectors.identity_access(identity, request.user),
            "unused": is_unused(identity),
            "window_days": window_days(),
            "may_change": visibility.can(request.user, visibility.CHANGE, identity),
            "may_grant": grants and not grant_refusal,
            "grant_refusal": grant_refusal,
            "may_request": access_requests.may_request(request.user, identity) and not identity.is_offboarded,
            "may_see_reviews": may_see_reviews(request.user),
        },
    )


def _credential_page(request, pk, form_class, add, template_context):
    identity = _identity_to_change(request, pk)
    form = form_class(request.POST or None)
    credential = request.method == "POST" and submit(
        form,
        lambda data: add(actor=request.user, identity=identity, **data),
        on_refusal=forget_pasted_private_key,
    )
    if credential:
        messages.success(request, f"Added the credential {credential} to {identity.name}.")
        return _back_to_identity(identity, "#credentials")
    return render(
        request,
        "tokens/credential_form.html",
        {"identity": identity, "form": form, **template_context},
        status=400 if form.is_bound else 200,
    )


@require_http_methods(["GET", "POST"])
@login_required
def credential_add_key(request, pk):
    return _credential_page(
        request, pk, JWKCredentialForm, credential_add_jwk,
        {"title": "Add a public key", "intro": "The agent signs its client assertions (private_key_jwt) with the matching private key."},
    )


@require_http_methods(["GET", "POST"])
@login_required
def credential_add_spiffe_id(request, pk):
    return _credential_page(
        request, pk, SpiffeCredentialForm, credential_add_spiffe,
        {
            "title": "Add a SPIFFE ID",
            "intro": "The agent presents a JWT-SVID from its trust domain as its client assertion.",
            "trust_domains": TrustDomain.objects.filter(distrusted_at__isnull=True).order_by("name").values_list("name", flat=True),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def credential_add_federated_subject(request, pk):
    return _credential_page(
        request, pk, FederatedCredentialForm, credential_add_federated,
        {
            "title": "Add a federated workload token",
            "intro": "The agent presents the token its platform gives it (GitHub Actions, Kubernetes, a cloud) "
            "as its client assertion, with client_id set to this identity's; it keeps no key of its own.",
            "issuers_missing": not FederatedIssuer.objects.filter(distrusted_at__isnull=True).exists(),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def credential_disable_view(request, pk, credential_pk):
    identity = _identity_to_change(request, pk)
    credential = get_object_or_404(
        WorkloadCredential.objects.select_related("trust_domain", "federated_issuer", "created_by"), pk=credential_pk, identity=identity,
    )

    def disable(reason):
        disabled = credential_disable(actor=request.user, credential=credential, reason=reason)
        done = f"Disabled {credential}; {_plural(disabled.tokens_revoked, 'token')} obtained with it revoked."
        if disabled.tasks_ended:
            done += f" {_plural(disabled.tasks_ended, 'sub-task')} opened by exchanging them ended."
        if not identity.credentials.filter(enabled=True).exists():
            done += f" {identity.name} has no enabled credential now: add one before the agent asks for a token again."
        return done

    return _confirm_ending(
        request, identity, anchor="#credentials", template="tokens/credential_disable.html",
        ended=None if credential.enabled else f"{credential} is disabled already.",
        act=disable, default_reason="Disabled by an owner.",
        title=f"Disable a credential of {identity.name}", submit_label="Disable the credential",
        context=lambda: {"credential": credential, **ending_previews.credential_disabling(credential)},
    )


@require_POST
@login_required
def networks_bind_view(request, pk):
    """Allow only the networks the identity got tokens from (the credentials panel's button)."""
    identity = _identity_to_change(request, pk)
    try:
        version = int(request.POST.get("version", ""))
        identity = identity_bind_to_seen_networks(actor=request.user, identity=identity, expected_version=version)
    except ValueError:
        messages.error(request, "This page is out of date. Reload it and try again.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{identity.name} now gets tokens only from {', '.join(identity.allowed_networks)}.")
    return _back_to_identity(identity, "#credentials")


@require_http_methods(["GET", "POST"])
@login_required
def network_recognise_view(request, pk):
    """An owner vouches for a network before any token came from it (a policy refused the first)."""
    identity = _identity_to_change(request, pk)
    form = NetworkRecogniseForm(request.POST or None, initial={"address": request.GET.get("address", "")})
    source = request.method == "POST" and submit(
        form, lambda data: network_recognise(actor=request.user, identity=identity, address=data["address"])
    )
    if source:
        messages.success(request, f"{source.network} is one of {identity.name}'s networks now: its requests from there are not new.")
        return _back_to_identity(identity, "#credentials")
    return render(request, "tokens/network_recognise.html", {"identity": identity, "form": form}, status=400 if form.is_bound else 200)


@require_http_methods(["GET", "POST"])
@login_required
def task_end_view(request, pk, task_pk):
    identity = _identity_to_change(request, pk)
    task = get_object_or_404(Task.objects.select_related("service"), pk=task_pk, identity=identity)
    return _confirm_ending(
        request, identity, anchor="#access", template="tokens/task_end.html",
        ended="This task has ended already." if task.ended_at else None,
        act=lambda reason: f"Ended the task; {_plural(task_end(task=task, actor=request.user, reason=reason), 'token')} revoked.",
        default_reason="Ended by an owner.",
        title=f"End a task of {identity.name}", submit_label="End the task",
        context=lambda: {"task": task, **ending_previews.task_ending(task)},
    )


@require_http_methods(["GET", "POST"])
@login_required
def token_revoke_view(request, pk, token_pk):
    identity = _identity_to_change(request, pk)
    token = get_object_or_404(IssuedToken.objects.select_related("task__service"), pk=token_pk, identity=identity)
    state = selectors.token_state(token)

    def revoke(reason):
        revoked = token_revoke(token=token, actor=request.user, reason=reason)
        ended = f"; {_plural(revoked.tasks_ended, 'sub-task')} opened by exchanging it ended" if revoked.tasks_ended else ""
        return f"Revoked {_plural(revoked.tokens, 'token')}{ended}."

    return _confirm_ending(
        request, identity, anchor="#access", template="tokens/token_revoke.html",
        ended={"revoked": "This token is revoked already.", "expired": "This token has expired already: nothing to revoke."}.get(state),
        act=revoke,
        default_reason="Revoked by an owner.",
        title=f"Revoke a token of {identity.name}", submit_label="Revoke the token",
        context=lambda: {"token": token, **ending_previews.token_revoking(token)},
    )


def _delegate_label(user, delegation) -> str:
    """The delegate by name if the user may see it, else by the client_id they typed."""
    delegate = delegation.delegate
    return delegate.name if visibility.can(user, visibility.VIEW, delegate) else f"The identity {delegate.pk}"


@require_http_methods(["GET", "POST"])
@login_required
def delegation_add(request, pk):
    identity = _identity_to_change(request, pk)
    form = DelegationForm(request.POST or None)
    delegation = request.method == "POST" and submit(
        form, lambda data: delegation_create(actor=request.user, principal=identity, delegate_id=data["delegate"], reason=data["reason"])
    )
    if delegation:
        messages.success(request, f"{_delegate_label(request.user, delegation)} may now act for {identity.name}.")
        return _back_to_identity(identity, "#access")
    return render(request, "tokens/delegation_form.html", {"identity": identity, "form": form}, status=400 if form.is_bound else 200)


@require_http_methods(["GET", "POST"])
@login_required
def delegation_revoke_view(request, pk, delegation_pk):
    identity = _identity_to_change(request, pk)
    delegation = get_object_or_404(Delegation.objects.select_related("delegate", "created_by"), pk=delegation_pk, principal=identity)
    delegate = _delegate_label(request.user, delegation)

    def end(reason):
        revoked = delegation_revoke(actor=request.user, delegation=delegation, reason=reason)
        return f"{delegate} no longer acts for {identity.name}; {_plural(revoked, 'token')} revoked."

    return _confirm_ending(
        request, identity, anchor="#access", template="tokens/delegation_revoke.html",
        ended="This delegation has ended already." if delegation.revoked_at else None,
        act=end, default_reason="Ended by an owner.",
        title=f"End a delegation of {identity.name}", submit_label="End the delegation",
        context=lambda: {
            "delegation": delegation, "delegate_visible": visibility.can(request.user, visibility.VIEW, delegation.delegate),
            **ending_previews.delegation_ending(delegation),
        },
    )


@login_required
@require_safe
def risk_panel(request, pk):
    """What is wrong with the identity now, each factor with its weight and its fix."""
    identity = identity_get(user=request.user, pk=pk)
    return render(request, "tokens/partials/risk_panel.html", {"identity": identity, "unscored": is_unscored(identity), **posture(identity)})


@login_required
@require_safe
def blast_radius_panel(request, pk):
    """What a copy of its key would reach now, and what would shrink that."""
    identity = identity_get(user=request.user, pk=pk)
    return render(request, "tokens/partials/blast_radius_panel.html", {
        "identity": identity, "radius": blast_radius(identity), "may_change": visibility.can(request.user, visibility.CHANGE, identity),
    })


@login_required
@require_safe
def activity_panel(request, pk):
    """Tokens issued and requests refused per day, the last two weeks, as a chart."""
    identity = identity_get(user=request.user, pk=pk)
    days = daily_activity(identity)
    chart = column_chart(
        [Column(
            f"{day.date:%d}", ((day.issued, "fill-allow"), (day.refused, "fill-deny")),
            f"{day.date:%Y-%m-%d}: {day.issued}{'+' if day.capped else ''} issued, {day.refused} refused",
        ) for day in days],
        title=f"Tokens issued and refused per day, the last {len(days)} days",
        width=960,  # drawn across a full-width card at about its own size
    )
    return render(request, "tokens/partials/activity_panel.html", {
        "identity": identity, "days": days, "chart": chart,
        "issued": sum(d.issued for d in days), "refused": sum(d.refused for d in days), "capped": any(d.capped for d in days),
        "busiest": max(days, key=lambda d: d.issued + d.refused),
    })


@login_required
@require_safe
def connect_panel(request, pk):
    """How the agent gets its tokens: its client_id, the portal's endpoints, the key ids it signs
    with and the services granted, with the example client's code filled in. Nothing secret."""
    identity = identity_get(user=request.user, pk=pk)
    return render(request, "tokens/partials/connect_panel.html", {
        "identity": identity, "issuer": nhi_setting("ISSUER").rstrip("/"), **selectors.connection_facts(identity),
    })


@login_required
def example_client(request):
    """examples/agent_client.py, for owners to copy into their agents."""
    path = Path(settings.BASE_DIR) / "examples" / "agent_client.py"
    response = HttpResponse(path.read_text(), content_type="text/x-python; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="agent_client.py"'
    return response
