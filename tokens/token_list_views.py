"""The tokens list: every token the ledger holds for the identities a person may see, across
identities (which are live right now, for what, to where), its CSV export, and revoking one
from it. Never the token itself: the ledger holds none.

Seen through the one gate (security admins, reviewers and compliance everything; owners the
tokens of their identities; anyone else an empty list). Revoked by those who may change the
identity (its owners, security admins), with the identity page's confirmation and service.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_safe

from inventory import visibility
from nhiportal.csv_cells import csv_download
from nhiportal.pages import page_of
from nhiportal.service_forms import submit

from . import ending_previews, selectors
from .filters import IssuedTokenFilter, page_filters
from .forms import OptionalReasonForm
from .issued_tokens import TOKEN_STATES, issued_token_list, revocable_ids
from .revocation import token_revoke

DEFAULT_STATE = "live"


def _token_filters(request):
    state = request.GET.get("state", DEFAULT_STATE)
    state = state if state in TOKEN_STATES else DEFAULT_STATE
    rows = issued_token_list(user=request.user, state=state)
    return state, page_filters(request, IssuedTokenFilter, rows, identities=selectors.visible_identities(request.user))


@login_required
@require_safe
def token_list(request):
    state, filters = _token_filters(request)
    page_obj = page_of(request, filters.rows())
    tokens = list(page_obj.object_list)
    revocable = revocable_ids(request.user, tokens)
    for token in tokens:
        token.state = selectors.token_state(token)
        token.may_revoke = token.pk in revocable
    return render(request, "tokens/issued_token_list.html", {
        "page_obj": page_obj, "tokens": tokens, "state": state, "states": TOKEN_STATES, "filters": filters,
        "back": request.get_full_path(),
    }, status=200 if filters.valid else 400)


def _iso(value) -> str:
    return value.isoformat() if value else ""


COLUMNS = [
    ("jti", lambda t: t.jti),
    ("identity", lambda t: t.identity.name),
    ("identity_id", lambda t: t.identity_id),
    ("audience", lambda t: t.audience),
    ("service", lambda t: t.task.service.name),
    ("scopes", lambda t: " ".join(t.scopes)),
    ("task_id", lambda t: t.task_id),
    ("exchanged", lambda t: "yes" if t.parent_id else ""),
    ("issued_at", lambda t: _iso(t.issued_at)),
    ("expires_at", lambda t: _iso(t.expires_at)),
    ("state", lambda t: selectors.token_state(t)),
    ("revoked_at", lambda t: _iso(t.revoked_at)),
    ("revoked_by", lambda t: t.revoked_by_label),
    ("revoke_reason", lambda t: t.revoke_reason),
    ("dpop_bound", lambda t: "yes" if t.cnf_jkt else "no"),
    ("signing_kid", lambda t: t.signing_kid),
    ("credential_id", lambda t: t.credential_id or ""),
]


@login_required
@require_safe
def token_export(request):
    """The list's rows as CSV, every page at once, honouring its tab and filters."""
    _, filters = _token_filters(request)
    if not filters.valid:
        return HttpResponseBadRequest(
            "Some filters are not valid: " + "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filters.filter.errors.items()),
            content_type="text/plain; charset=utf-8",
        )
    rows = filters.rows().iterator(chunk_size=2000)
    return csv_download([name for name, _ in COLUMNS], ([value(t) for _, value in COLUMNS] for t in rows), "tokens.csv")


def _back_to_list(request) -> str:
    """Where the list was (its tab, filters and page), carried by ?back=; the list otherwise."""
    listed = reverse("tokens:issued-token-list")
    back = request.GET.get("back", "")
    safe = back.startswith(listed) and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})
    return back if safe else listed


@require_http_methods(["GET", "POST"])
@login_required
def token_revoke_from_list(request, pk):
    """The identity page's confirmation of revoking one token (what goes with it, an optional
    reason), reached from the list and back to it. 404 for a token the person may not see,
    403 for one they see but may not revoke."""
    token = get_object_or_404(issued_token_list(user=request.user), pk=pk)
    if not visibility.can(request.user, visibility.CHANGE, token.identity):
        raise PermissionDenied
    back = _back_to_list(request)
    state = selectors.token_state(token)
    if state != "live":
        messages.info(request, "This token is revoked already." if state == "revoked" else "This token has expired already: nothing to revoke.")
        return redirect(back)
    default_reason = "Revoked from the tokens list."
    # Bound on every POST, an empty one too: the reason is optional, the button is the confirmation.
    form = OptionalReasonForm(request.POST if request.method == "POST" else None)
    revoked = request.method == "POST" and submit(
        form, lambda data: token_revoke(token=token, actor=request.user, reason=data["reason"] or default_reason),
    )
    if revoked:
        ended = f"; {revoked.tasks_ended} sub-task{pluralize(revoked.tasks_ended)} opened by exchanging it ended" if revoked.tasks_ended else ""
        messages.success(request, f"Revoked {revoked.tokens} token{pluralize(revoked.tokens)} of {token.identity.name}{ended}.")
        return redirect(back)
    return render(request, "tokens/issued_token_revoke.html", {
        "identity": token.identity, "token": token, "form": form, "title": f"Revoke a token of {token.identity.name}",
        "submit_label": "Revoke the token", "default_reason": default_reason, "cancel_url": back,
        **ending_previews.token_revoking(token),
    }, status=400 if form.is_bound else 200)
