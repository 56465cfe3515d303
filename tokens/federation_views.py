"""The federated issuers pages, for security admins (tokens/federation.py)."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from . import selectors
from .federation import federated_issuer_create, federated_issuer_update
from .forms import FederatedIssuerEditForm, FederatedIssuerForm
from .models import FederatedIssuer
from .views import _form_page, _require_security_admin, _submitted, keys_refresh_page, trust_change_page


@login_required
def issuer_list(request):
    _require_security_admin(request)
    return render(request, "tokens/federatedissuer_list.html", {"issuers": selectors.platforms(FederatedIssuer)})


@require_http_methods(["GET", "POST"])
@login_required
def issuer_create(request):
    _require_security_admin(request)
    form = FederatedIssuerForm(request.POST or None)
    issuer = request.method == "POST" and _submitted(form, lambda data: federated_issuer_create(actor=request.user, **data))
    if issuer:
        messages.success(request, f"Registered {issuer.name}: identities can now name its subjects as credentials.")
        return redirect("tokens:issuer-list")
    return _form_page(request, "tokens/federatedissuer_form.html", form, cancel_url=reverse("tokens:issuer-list"))


@require_http_methods(["GET", "POST"])
@login_required
def issuer_edit(request, pk):
    _require_security_admin(request)
    issuer = get_object_or_404(FederatedIssuer, pk=pk)
    initial = {
        "name": issuer.name, "audience": issuer.audience, "bundle_endpoint": issuer.bundle_endpoint,
        "jwks": "" if issuer.bundle_endpoint else json.dumps(issuer.jwks, indent=2),
        "max_age": issuer.max_age, "reusable": issuer.reusable,
    }
    form = FederatedIssuerEditForm(request.POST or None, initial=initial)
    saved = request.method == "POST" and _submitted(
        form, lambda data: federated_issuer_update(actor=request.user, federated_issuer=issuer, **data)
    )
    if saved:
        messages.success(request, f"Saved {issuer.name}.")
        return redirect("tokens:issuer-list")
    return _form_page(
        request, "tokens/federatedissuer_form.html", form, issuer=issuer, cancel_url=reverse("tokens:issuer-list")
    )


@require_http_methods(["GET", "POST"])
@login_required
def issuer_trust(request, pk):
    return trust_change_page(request, FederatedIssuer, pk, "federated issuer", "tokens:issuer-list")


@require_POST
@login_required
def issuer_refresh(request, pk):
    return keys_refresh_page(request, FederatedIssuer, pk, "keys", "tokens:issuer-list")
