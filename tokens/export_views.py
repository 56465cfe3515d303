"""CSV of access requests, grants and workload credentials: who asked for what, who decided,
what access exists, and how each identity proves itself.

For compliance staff and auditors asking "who approved this agent's access, and why": the same
rows the lists show the person (the same selectors, so the same visibility), every page at once,
with cells a spreadsheet would run as formulas defused. Each honours its list's filters (the
list's Export link carries them); without any it exports everything the person may see.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.utils import timezone
from django.views.decorators.http import require_safe

from nhiportal.csv_cells import csv_download
from nhiportal.decisions import LIST_STATES

from . import selectors
from .access_request_views import access_request_filters
from .filters import CredentialFilter, GrantFilter, page_filters
from .models import CredentialKind


def _iso(value) -> str:
    return value.isoformat() if value else ""


ACCESS_REQUEST_COLUMNS = [
    ("id", lambda r: r.pk),
    ("identity", lambda r: r.identity.name),
    ("service", lambda r: r.service.name),
    ("scopes", lambda r: " ".join(r.scopes)),
    ("ends_at", lambda r: _iso(r.ends_at)),
    ("state", lambda r: r.state),
    ("requested_by", lambda r: r.requested_by.get_username()),
    ("requested_at", lambda r: _iso(r.requested_at)),
    ("justification", lambda r: r.justification),
    ("owner_vouched_by", lambda r: r.owner_approved_by.get_username() if r.owner_approved_by else ""),
    ("owner_vouched_at", lambda r: _iso(r.owner_approved_at)),
    ("decided_by", lambda r: r.decided_by_label),
    ("decided_at", lambda r: _iso(r.decided_at)),
    ("decision_reason", lambda r: r.decision_reason),
    ("grant_id", lambda r: r.grant_id or ""),
]

# Rows are (grant, (usable, reasons)) as grant_export pairs them: selectors.grant_usable_now,
# the rule the grants list's badges show.
GRANT_COLUMNS = [
    ("id", lambda r: r[0].pk),
    ("identity", lambda r: r[0].identity.name),
    ("service", lambda r: r[0].service.name),
    ("scopes", lambda r: " ".join(r[0].scopes)),
    ("state", lambda r: selectors.grant_state(r[0])),
    ("usable_now", lambda r: "yes" if r[1][0] else "no"),
    # Why not (expired, identity suspended, service inactive, ...); for a usable grant, the scopes that went.
    ("not_usable_because", lambda r: "; ".join(r[1][1])),
    ("starts_at", lambda r: _iso(r[0].starts_at)),
    ("ends_at", lambda r: _iso(r[0].ends_at)),
    ("granted_by", lambda r: r[0].granted_by.get_username() if r[0].granted_by else ""),
    ("justification", lambda r: r[0].justification),
    ("revoked_at", lambda r: _iso(r[0].revoked_at)),
    ("revoked_by", lambda r: r[0].revoked_by_label),
    ("revoke_reason", lambda r: r[0].revoke_reason),
    # As the hourly grant_usage step last read the ledger (empty before its first look).
    ("usage_checked_at", lambda r: _iso(r[0].usage_checked_at)),
    ("last_used_at", lambda r: _iso(r[0].last_used_at)),
    ("unused_scopes", lambda r: " ".join(r[0].unused_scopes or ())),
]


def credential_how(c) -> str:
    """What a credential matches, in one cell: the key, the SPIFFE ID, or the issuer and subject."""
    if c.kind == CredentialKind.JWK:
        return f"{(c.public_jwk or {}).get('kty', '')} key {c.kid} (thumbprint {c.thumbprint})"
    if c.kind == CredentialKind.SPIFFE:
        return c.spiffe_id
    claims = "".join(f"; {name}={value}" for name, value in c.required_claims.items())
    return f"{c.federated_issuer.issuer} sub={c.subject}{claims}"


CREDENTIAL_COLUMNS = [
    ("id", lambda c: c.pk),
    ("identity", lambda c: c.identity.name),
    ("identity_id", lambda c: c.identity_id),
    ("kind", lambda c: c.kind),
    ("label", lambda c: c.label),
    ("matches", credential_how),
    ("enabled", lambda c: "yes" if c.enabled else "no"),
    ("created_at", lambda c: _iso(c.created_at)),
    ("created_by", lambda c: c.created_by.get_username() if c.created_by else ""),
    ("last_token_at", lambda c: _iso(c.last_token_at)),
    ("rotation_due", lambda c: "yes" if c.rotation_due else ""),
    ("disabled_at", lambda c: _iso(c.disabled_at)),
    ("disabled_by", lambda c: c.disabled_by_label),
    ("disable_reason", lambda c: c.disable_reason),
]


def _choice(request, name: str, allowed, default: str = "all") -> str:
    """A filter from the query; one the list would not offer exports everything, as missing does."""
    value = request.GET.get(name, default)
    return value if value in allowed else default


def _csv(rows, columns, filename: str):
    return csv_download([name for name, _ in columns], ([value(row) for _, value in columns] for row in rows), filename)


def _refused(filters):
    """A filter the list would refuse (a service id that names none): said, not exported as everything."""
    return HttpResponseBadRequest(
        "Some filters are not valid: " + "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filters.filter.errors.items()),
        content_type="text/plain; charset=utf-8",
    )


@login_required
@require_safe
def access_request_export(request):
    view = _choice(request, "view", selectors.ACCESS_REQUEST_VIEWS)
    state = _choice(request, "state", LIST_STATES)
    requests = selectors.access_request_list(user=request.user, view=view, state="" if state == "all" else state).select_related(
        "identity", "service", "requested_by", "owner_approved_by"
    )
    filters = access_request_filters(request, requests)
    if not filters.valid:
        return _refused(filters)
    return _csv(filters.rows().order_by("requested_at", "pk").iterator(chunk_size=2000), ACCESS_REQUEST_COLUMNS, "access-requests.csv")


@login_required
@require_safe
def grant_export(request):
    state = _choice(request, "state", selectors.GRANT_STATES)
    filters = page_filters(
        request, GrantFilter, selectors.grants_in_state(user=request.user, state=state),
        identities=selectors.visible_identities(request.user),
    )
    if not filters.valid:
        return _refused(filters)
    offered, now = selectors.offered_scopes(), timezone.now()
    # Each grant's usability read once, for both its columns.
    usable = ((grant, selectors.grant_usable_now(grant, offered.get(grant.service_id, set()), now)) for grant in
              filters.rows().order_by("created_at", "pk").iterator(chunk_size=2000))
    return _csv(usable, GRANT_COLUMNS, "grants.csv")


@login_required
@require_safe
def credential_export(request):
    platform, _ = selectors.credential_platform(user=request.user, params=request.GET)
    credentials = selectors.credential_list(
        user=request.user, state=_choice(request, "state", selectors.CREDENTIAL_STATES),
        kind=_choice(request, "kind", CredentialKind.values, default=""), platform=platform,
    )
    filters = page_filters(request, CredentialFilter, credentials, identities=selectors.visible_identities(request.user))
    if not filters.valid:
        return _refused(filters)
    return _csv(filters.rows().iterator(chunk_size=2000), CREDENTIAL_COLUMNS, "credentials.csv")
