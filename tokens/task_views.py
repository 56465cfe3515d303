"""Tasks, a page at a time: an identity's whole history (what its access panel shows the latest
of), and every task of the identities a person may see, across identities ("what are my agents
doing right now?"), with its CSV export.

Seen through the one gate, as the tokens list: security admins, reviewers and compliance every
task; owners the tasks of their identities; anyone else an empty list. An identity's own list
is 404 to whoever may not see the identity, as its page. Read only: tasks are ended on the
identity's page.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_safe

from inventory.selectors import identity_get
from nhiportal.csv_cells import csv_download
from nhiportal.pages import page_of

from . import selectors
from .filters import TaskFilter, TaskListFilter, page_filters


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


def _all_task_filters(request):
    return page_filters(request, TaskListFilter, selectors.task_list(user=request.user), identities=selectors.visible_identities(request.user))


@login_required
@require_safe
def all_task_list(request):
    filters = _all_task_filters(request)
    page_obj = page_of(request, filters.rows())
    return render(
        request,
        "tokens/task_list_all.html",
        {"page_obj": page_obj, "tasks": page_obj.object_list, "filters": filters},
        status=200 if filters.valid else 400,
    )


def _iso(value) -> str:
    return value.isoformat() if value else ""


COLUMNS = [
    ("task_id", lambda t: t.pk),
    ("opened_at", lambda t: _iso(t.opened_at)),
    ("identity", lambda t: t.identity.name),
    ("identity_id", lambda t: t.identity_id),
    ("autonomy", lambda t: t.identity.autonomy),
    ("service", lambda t: t.service.name),
    ("audience", lambda t: t.service.audience),
    ("intent", lambda t: t.intent),
    ("scopes", lambda t: " ".join(t.scopes)),
    ("sensitivity", lambda t: t.get_sensitivity_display() if t.sensitivity else ""),
    ("tokens", lambda t: t.token_count),
    ("state", lambda t: "open" if t.is_open else "ended"),
    ("ended_at", lambda t: _iso(t.ended_at)),
    ("ended_by", lambda t: t.ended_by_label),
    ("end_reason", lambda t: t.end_reason),
    ("approval", lambda t: t.approval_state),
    ("approved_by", lambda t: t.approved_by.get_username() if t.approved_by else ""),
    ("parent_task_id", lambda t: t.parent_id or ""),
]


@login_required
@require_safe
def all_task_export(request):
    """The list's rows as CSV, every page at once, honouring its filters."""
    filters = _all_task_filters(request)
    if not filters.valid:
        return HttpResponseBadRequest(
            "Some filters are not valid: " + "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filters.filter.errors.items()),
            content_type="text/plain; charset=utf-8",
        )
    rows = filters.rows().iterator(chunk_size=2000)
    return csv_download([name for name, _ in COLUMNS], ([value(t) for _, value in COLUMNS] for t in rows), "tasks.csv")
