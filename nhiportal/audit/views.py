from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import InvalidPage, Paginator
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from nhiportal.identity_filter import identity_names
from nhiportal.people.roles import sees_everything

from .export import export_lines
from .filters import AuditEventFilter
from .selectors import event_changes, event_list as all_events


def _filtered_events(request) -> AuditEventFilter:
    # Owners read history on their identities' pages; the whole log is for those who read everything.
    if not sees_everything(request.user):
        raise PermissionDenied
    return AuditEventFilter(request.GET, queryset=all_events())


@login_required
@require_safe
def event_list(request):
    events = _filtered_events(request)
    # The page's date pickers cover what since/until say to automation: keep them, out of sight,
    # so a link that carries them still filters.
    for name in ("since", "until"):
        events.form.fields[name].widget = forms.HiddenInput()
    context = {"filter": events, "filtering": any(v for k, v in request.GET.items() if k != "page")}
    if not events.is_valid():
        return render(request, "audit/event_list.html", context, status=400)
    paginator = Paginator(events.qs, settings.NHI["PAGE_SIZE"])
    try:
        page_obj = paginator.page(request.GET.get("page") or 1)
    except InvalidPage as exc:
        raise Http404("No such page") from exc
    names = identity_names(event.identity_id for event in page_obj.object_list)
    for event in page_obj.object_list:
        event.changes = event_changes(event)
        event.identity_name = names.get(event.identity_id)
    context.update(page_obj=page_obj, events=page_obj.object_list)
    return render(request, "audit/event_list.html", context)


@login_required
@require_safe
def event_export(request):
    """The filtered events as JSON lines, every field, oldest first."""
    events = _filtered_events(request)
    if not events.is_valid():
        return HttpResponseBadRequest(events.errors.as_text(), content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(export_lines(events.qs), content_type="application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-events.jsonl"'
    return response
