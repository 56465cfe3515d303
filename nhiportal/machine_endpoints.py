"""Endpoints that answer programs, not browsers, skip the browser middleware.

Agents and resource servers call the OAuth endpoints many times a second, load balancers
call /healthz, Prometheus scrapes /metrics, and identity providers provision people over SCIM and post back-channel
logouts. None of them has a session, a CSRF cookie, a logged-in user, flash messages, htmx
headers or a page to frame, so the middleware for those (about a third of a bare request's cost) does nothing for them
but cost time. This middleware sits after the security headers and the request id and, for
these paths, calls the view straight away.
Errors still become responses: Django wraps every middleware in its exception handler.
"""

from django.urls import resolve

MACHINE_PREFIXES = ("/oauth/", "/.well-known/", "/healthz", "/metrics", "/scim/", "/accounts/sso/backchannel-logout/")


class MachineEndpointsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(MACHINE_PREFIXES):
            return self.get_response(request)
        match = resolve(request.path_info)
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)
