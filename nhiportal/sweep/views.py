"""The background work page: what each sweep step last did, for those who read everything."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_safe

from nhiportal.people.roles import sees_everything

from .selectors import BADGES, sweep_status


@login_required
@require_safe
def status(request):
    if not sees_everything(request.user):
        raise PermissionDenied("Background work is open to reviewers, compliance and security admins.")
    rows = sweep_status()
    tally = {state: sum(r.state == state for r in rows) for state in BADGES}
    return render(request, "sweep/status.html", {"rows": rows, "tally": tally})
