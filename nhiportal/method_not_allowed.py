"""A page address that takes only a form's button, opened in the browser, says so.

Django's require_POST (and its kin) answer any other method with 405 and an empty body, which
Chromium shows as "HTTP ERROR 405". People meet it by reloading after a form, opening a
bookmarked action or following a link to one; for them the portal's layout says what the
address is for and where to go. Programs keep the answers they parse: the API's, OAuth's and
SCIM's 405s have bodies of their own and are left alone, and so is any 405 with a body.
"""

from django.shortcuts import render, resolve_url
from django.urls import Resolver404, get_script_prefix, resolve

from .machine_endpoints import MACHINE_PREFIXES

PROGRAM_PREFIXES = (*MACHINE_PREFIXES, "/api/")


def page_above(path: str) -> str | None:
    """The nearest address above `path` that is a route (an action's own page, as a rule),
    or None when only the dashboard is above it."""
    parts = path.strip("/").split("/")
    while len(parts) > 1:
        parts.pop()
        candidate = "/" + "/".join(parts) + "/"
        try:
            resolve(candidate)
        except Resolver404:
            continue
        return get_script_prefix().rstrip("/") + candidate
    return None


class FriendlyMethodNotAllowedMiddleware:
    """Innermost but for Axes, so the page it renders still gets the security headers, CSP and
    the messages' bookkeeping of the middleware around it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code != 405
            or request.method != "GET"  # a HEAD shows nobody a page
            or request.path_info.startswith(PROGRAM_PREFIXES)
            or response.streaming
            or response.content
        ):
            return response
        page = render(
            request, "405.html",
            {"page_above": page_above(request.path_info), "dashboard_url": resolve_url("inventory:dashboard")},
            status=405,
        )
        if response.has_header("Allow"):
            page["Allow"] = response["Allow"]
        return page
