"""The people directory behind the type-ahead pickers (people_picker.py)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import selectors
from .people_picker import person_label

MAX_QUERY_LENGTH = 100


@never_cache
@login_required
@require_GET
def people_search(request):
    """Active people matching ?q=, for a form that names people: {results: [{id, label, email}], more}."""
    if not selectors.may_pick_people(request.user):
        raise PermissionDenied
    people, more = selectors.people_matching(request.GET.get("q", "")[:MAX_QUERY_LENGTH])
    results = [{"id": p.pk, "label": person_label(p), "email": p.email} for p in people]
    return JsonResponse({"results": results, "more": more})
