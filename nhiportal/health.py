"""Liveness probe for load balancers. Touches no database, so it is also the benchmark's floor."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})
