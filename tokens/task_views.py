"""An identity's whole task history, a page at a time: what its access panel shows the latest
of. Seen by whoever may see the identity (404 otherwise, as its page)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from inventory.selectors import identity_get
from nhiportal.pages import page_of

from . import selectors
from .filters import TaskFilter, page_filters


@login_required
@require_safe
def task_list(request, pk):
    identity = identity_get(user=request.user, pk=pk)
    filters = page_filters(request, TaskFilter, selectors.identity_tasks(identity))
    page_obj = page_of(request, filters.rows())
    return render(
        request,
        "tokens/task_list.html",
        {"identity": identity, "page_obj": page_obj, "tasks": page_obj.object_list, "filters": filters},
        status=200 if filters.valid else 400,
    )
