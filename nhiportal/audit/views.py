import django_filters
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import InvalidPage, Paginator
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from nhiportal.people.roles import sees_everything

from .export import export_lines
from .filters import AuditEventFilter
from .labels import action_label, object_type_label
from .selectors import event_changes, event_list as all_events, events_named, known_actions, known_object_types

FILTER_MAX = 100  # longer than any action or object type


def _matching(value: str, codes: list[str], label) -> list[str]:
    """The codes whose code or label holds `value`, in any case ("owners" finds identity.owners_set,
    "identity" finds inventory.aiidentity by its label); the value itself too, so an exact code
    always matches."""
    term = value.strip().lower()
    return [value.strip(), *(code for code in codes if term in code.lower() or term in label(code).lower())]


class PageEventFilter(AuditEventFilter):
    """The page's filters, and its export's (its link carries them): action and object type
    match part of a code or of its label among those the log holds, not the exact code alone.
    The API keeps AuditEventFilter's (action by prefix, object type exact): programs send codes."""

    action = django_filters.CharFilter(
        method="filter_action", label="Action", max_length=FILTER_MAX,
        widget=forms.TextInput(attrs={"placeholder": "owners, identity., policy", "list": "audit-actions"}),
    )
    object_type = django_filters.CharFilter(
        method="filter_object_type", label="Object type", max_length=FILTER_MAX,
        widget=forms.TextInput(attrs={"placeholder": "Identity, grant", "list": "audit-object-types"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._known = {}

    def known(self, column: str) -> list[str]:
        """The actions or object types the log holds, read once per page."""
        if column not in self._known:
            self._known[column] = known_actions() if column == "action" else known_object_types()
        return self._known[column]

    def filter_action(self, queryset, name, value):
        return queryset.filter(action__in=_matching(value, self.known("action"), action_label))

    def filter_object_type(self, queryset, name, value):
        return queryset.filter(object_type__in=_matching(value, self.known("object_type"), object_type_label))


def _filtered_events(request) -> PageEventFilter:
    # Owners read history on their identities' pages; the whole log is for those who read everything.
    if not sees_everything(request.user):
        raise PermissionDenied
    return PageEventFilter(request.GET, queryset=all_events())


@login_required
@require_safe
def event_list(request):
    events = _filtered_events(request)
    # The page's date pickers cover what since/until say to automation: keep them, out of sight,
    # so a link that carries them still filters.
    for name in ("since", "until"):
        events.form.fields[name].widget = forms.HiddenInput()
    context = {
        "filter": events,
        "filtering": any(v for k, v in request.GET.items() if k != "page"),
        "actions": [(code, action_label(code)) for code in events.known("action")],
        "object_types": [(code, object_type_label(code)) for code in events.known("object_type")],
    }
    if not events.is_valid():
        return render(request, "audit/event_list.html", context, status=400)
    paginator = Paginator(events.qs, settings.NHI["PAGE_SIZE"])
    try:
        page_obj = paginator.page(request.GET.get("page") or 1)
    except InvalidPage as exc:
        raise Http404("No such page") from exc
    # The log is for those who see every identity: each is named, the label kept as a tooltip.
    events = events_named(page_obj.object_list)
    for event in events:
        event.changes = event_changes(event)
    context.update(page_obj=page_obj, events=events)
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
