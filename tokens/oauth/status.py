"""Token status lists (draft-ietf-oauth-status-list): public, like the JWKS, since a list
says only which numbered tokens were revoked, never whose they are."""

from django.db.models import Max, Min
from django.http import HttpResponse, JsonResponse
from django.utils import timezone

from nhiportal.conf import nhi_setting

from .. import status_list
from ..models import IssuedToken
from .metadata import cached, get_only


@get_only
def status_list_token(request, number: int):
    if not status_list.exists(number):
        return JsonResponse({"error": "not_found", "error_description": "No token was issued in this status list."}, status=404)
    response = HttpResponse(status_list.status_list_token(number), content_type=status_list.CONTENT_TYPE)
    # Caches in between (and the verifier) may keep it as long as the list itself says.
    return cached(response, nhi_setting("STATUS_LIST_TTL"))


@get_only
def status_list_aggregation(request):
    """Every list naming a token that has not expired (the draft's Status List Aggregation),
    so a verifier can fetch them ahead of the first token it meets. Cached as long as the lists
    themselves: a new list (a millionth token) is met by verifiers through its token's `status`
    claim anyway, and this answer changes no more often than that."""
    span = IssuedToken.objects.filter(expires_at__gt=timezone.now()).aggregate(first=Min("pk"), last=Max("pk"))
    numbers = range(span["first"] // status_list.LIST_SIZE, span["last"] // status_list.LIST_SIZE + 1) if span["first"] is not None else ()
    return cached(JsonResponse({"status_lists": [status_list.list_uri(n) for n in numbers]}), nhi_setting("STATUS_LIST_TTL"))
