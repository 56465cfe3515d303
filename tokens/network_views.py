"""The source networks list: every network the identities a person may see got tokens from,
across identities (which are new this week, which lie outside the identity's allowed
networks), and its CSV export. NHIP-23's "new networks" figure links here.

Seen through the one gate (security admins, reviewers and compliance everything; owners the
networks of their identities; anyone else an empty list). Recognising a network stays on the
identity page, with its owners.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from nhiportal.csv_cells import csv_download
from nhiportal.pages import page_of

from . import selectors
from .filters import SourceNetworkFilter, page_filters
from .source_networks import NEW_NETWORK_DAYS, new_networks, source_list


def _network_filters(request, now):
    return page_filters(
        request, SourceNetworkFilter, source_list(user=request.user),
        identities=selectors.visible_identities(request.user), news=new_networks(now),
    )


def _marks(rows, now) -> tuple[set, set]:
    """The ids among `rows` that are news now (as the New filter and NHIP-23 count them), and
    those outside their identity's allowed networks (as the Outside filter finds them)."""
    ids = rows.values("pk")
    news = set(new_networks(now).filter(pk__in=ids).values_list("pk", flat=True))
    return news, SourceNetworkFilter.outside_allowed_ids(rows)


@login_required
@require_safe
def network_list(request):
    now = timezone.now()
    filters = _network_filters(request, now)
    page_obj = page_of(request, filters.rows())
    networks = list(page_obj.object_list)
    news, outside = _marks(filters.rows().filter(pk__in=[n.pk for n in networks]), now)
    for network in networks:
        network.new = network.pk in news
        network.outside_allowed = network.pk in outside
    return render(request, "tokens/source_network_list.html", {
        "page_obj": page_obj, "networks": networks, "filters": filters, "days": NEW_NETWORK_DAYS,
    }, status=200 if filters.valid else 400)


def _yes(value: bool) -> str:
    return "yes" if value else "no"


@login_required
@require_safe
def network_export(request):
    """The list's rows as CSV, every page at once, honouring its filters."""
    now = timezone.now()
    filters = _network_filters(request, now)
    if not filters.valid:
        return HttpResponseBadRequest(
            "Some filters are not valid: " + "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filters.filter.errors.items()),
            content_type="text/plain; charset=utf-8",
        )
    rows = filters.rows()
    news, outside = _marks(rows, now)
    columns = [
        ("identity", lambda s: s.identity.name),
        ("identity_id", lambda s: s.identity_id),
        ("network", lambda s: s.network),
        ("first_seen_at", lambda s: s.first_seen_at.isoformat()),
        ("baseline", lambda s: _yes(s.baseline)),
        ("new", lambda s: _yes(s.pk in news)),
        ("recognised_by", lambda s: s.recognised_by_label),
        ("allowed_networks", lambda s: " ".join(s.identity.allowed_networks)),
        ("outside_allowed", lambda s: _yes(s.pk in outside)),
    ]
    return csv_download(
        [name for name, _ in columns], ([value(s) for _, value in columns] for s in rows.iterator(chunk_size=2000)), "networks.csv",
    )
