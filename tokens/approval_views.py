"""The approvals pages: tasks waiting for a person, and the decision on one.

Everyone sees the approvals of the identities they may see (owners follow their agents'
requests there); reviewers and security admins who do not own the identity decide (403
otherwise); a task of an identity the user may not see is a 404.
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from inventory import visibility
from nhiportal.pages import page_of
from nhiportal.service_forms import submit

from . import selectors
from .approvals import task_approve, task_reject
from .filters import ApprovalFilter, page_filters
from .forms import approval_forms
from .models import Task


@login_required
@require_safe
def approval_list(request):
    state = request.GET.get("state", "pending")
    if state not in selectors.APPROVAL_STATES:
        state = "pending"
    filters = page_filters(
        request, ApprovalFilter, selectors.approval_list(user=request.user, state=state),
        identities=selectors.visible_identities(request.user),
    )
    page_obj = page_of(request, filters.rows())
    return render(
        request,
        "tokens/approval_list.html",
        {"page_obj": page_obj, "tasks": page_obj.object_list, "state": state, "states": selectors.APPROVAL_STATES, "filters": filters},
        status=200 if filters.valid else 400,
    )


@require_http_methods(["GET", "POST"])
@login_required
def approval_detail(request, pk):
    try:
        task = selectors.approval_get(user=request.user, pk=pk)
    except Task.DoesNotExist:
        raise Http404 from None
    may_decide = visibility.can(request.user, visibility.APPROVE, task.identity)
    deciding = request.POST.get("decision", "") if request.method == "POST" else ""
    if request.method == "POST" and not may_decide:
        raise PermissionDenied
    approve_form, reject_form = approval_forms(request.POST or None, deciding=deciding)
    late = bool(deciding) and task.approval_state != "pending"  # someone decided (or it ended) meanwhile
    if late:
        decided = None
    elif deciding == "approve":
        decided = submit(approve_form, lambda data: task_approve(actor=request.user, task=task, **data))
        if decided:
            messages.success(request, f"Approved the task until {decided.approval_expires_at:%Y-%m-%d %H:%M} UTC; the agent may ask for its tokens.")
    elif deciding == "reject":
        decided = submit(reject_form, lambda data: task_reject(actor=request.user, task=task, **data))
        if decided:
            messages.success(request, "Refused the task; the agent is told so when it asks again.")
    else:
        decided = None
    if decided:
        return redirect("tokens:approval-list")
    return render(
        request,
        "tokens/approval_detail.html",
        {
            "task": task,
            "asked_by": selectors.approval_asked_by(task),
            "details_json": json.dumps(task.authorization_details, indent=2, cls=DjangoJSONEncoder),
            "may_decide": may_decide and task.approval_state == "pending",
            "late": late,
            "owns_it": task.identity.ownerships.filter(person=request.user).exists(),
            "approve_form": approve_form,
            "reject_form": reject_form,
            "owners": task.identity.ownerships.select_related("person"),
            "consequential": set(task.service.scopes.filter(consequential=True).values_list("name", flat=True)),
        },
        status=400 if request.method == "POST" else 200,
    )
