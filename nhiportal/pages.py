"""Plumbing every app's pages share."""

from django.conf import settings
from django.core.paginator import Paginator


def page_of(request, queryset):
    """The page of `queryset` that ?page= asks for (the last one if it asks past the end)."""
    return Paginator(queryset, settings.NHI["PAGE_SIZE"]).get_page(request.GET.get("page"))
