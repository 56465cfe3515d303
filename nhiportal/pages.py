"""Plumbing every app's pages share."""

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpResponsePermanentRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_safe

CARD_ROWS = 5


def page_of(request, queryset):
    """The page of `queryset` that ?page= asks for (the last one if it asks past the end)."""
    return Paginator(queryset, settings.NHI["PAGE_SIZE"]).get_page(request.GET.get("page"))


def dashboard_card(request, template: str, found, rows: str, *, prepare=None, **context):
    """A dashboard card loaded with htmx: how many `found` holds, and its first CARD_ROWS as
    `rows` (passed through prepare(list) first, to add what each row needs)."""
    shown = list(found[:CARD_ROWS])
    return render(request, template, {"count": found.count(), rows: prepare(shown) if prepare else shown, **context})


@require_safe
def favicon(request):
    """Browsers ask for /favicon.ico wherever a response names no icon (the API's JSON, a CSV):
    the portal's logo, rather than a 404 in the log each time."""
    return HttpResponsePermanentRedirect(static("img/logo.svg"))
