"""Unused identities: the list (everyone sees those of the identities they may see), the
dashboard's card, and suspending many at once (the identities' owners and security admins)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from inventory import visibility
from inventory.models import AIIdentity
from nhiportal.pages import dashboard_card, page_of
from nhiportal.service_forms import bulk_submit

from . import selectors, usage
from .forms import UnusedIdentitiesSuspendForm
from .unused_identities import unused_identities_suspend


def _with_suspend_rights(user, identities: list) -> list:
    """Set identity.may_suspend: the user may change it (an owner, a security admin). One query."""
    ids = [i.pk for i in identities]
    changeable = set(visibility.restrict(AIIdentity.objects.filter(pk__in=ids), user, visibility.CHANGE).values_list("pk", flat=True))
    for identity in identities:
        identity.may_suspend = identity.pk in changeable
    return identities


@login_required
@require_safe
def unused_identity_list(request):
    page_obj = page_of(request, selectors.unused_identity_list(user=request.user))
    rows = _with_suspend_rights(request.user, list(page_obj.object_list))
    return render(
        request,
        "tokens/unused_identity_list.html",
        {
            "page_obj": page_obj,
            "identities": rows,
            "window_days": usage.window_days(),
            "bulk_reason": f"No token in the last {usage.window_days()} days.",
            "bulk": any(i.may_suspend for i in rows),
        },
    )


@login_required
@require_safe
def unused_identity_card(request):
    """The dashboard's card (loaded with htmx): the identities the user sees that nothing used."""
    return dashboard_card(
        request, "tokens/partials/unused_identity_card.html", selectors.unused_identity_list(user=request.user), "identities",
        window_days=usage.window_days(),
    )


@require_POST
@login_required
def unused_identities_suspend_view(request):
    """The list's bulk action: suspend each identity ticked that is still unused."""
    # Any identity the person may change: one used or changed since the list was read is the
    # service's to leave alone and count, not a reason to refuse the rest.
    form = UnusedIdentitiesSuspendForm(request.POST, choices=visibility.restrict(AIIdentity.objects.all(), request.user, visibility.CHANGE))
    back = reverse("tokens:unused-identity-list")
    done = bulk_submit(
        request, form, lambda data: unused_identities_suspend(actor=request.user, identities=list(data["identity"]), reason=data["reason"]),
        nothing="Nothing was suspended",
    )
    if done is None:
        return redirect(back)
    said = f"{done['suspended']} identit{pluralize(done['suspended'], 'y,ies')} suspended; their owners can reactivate them."
    if done["in use again"]:
        said += f" {done['in use again']} left as {pluralize(done['in use again'], 'it was,they were')}: used or changed since the list was read."
    messages.success(request, said)
    return redirect(back)
