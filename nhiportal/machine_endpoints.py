"""Endpoints that answer programs, not browsers, skip the browser middleware.

Agents and resource servers call the OAuth endpoints many times a second, load balancers
call /healthz, Prometheus scrapes /metrics, and identity providers provision people over SCIM and post back-channel
logouts. None of them has a session, a CSRF cookie, a logged-in user, flash messages, htmx
headers or a page to frame, so the middleware for those (about a third of a bare request's cost) does nothing for them
but cost time. This middleware sits after the security headers and the request id and, for
these paths, calls the view straight away.
Errors still become responses: Django wraps every middleware in its exception handler.
"""

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import Resolver404, resolve

MACHINE_PREFIXES = ("/oauth/", "/.well-known/", "/healthz", "/metrics", "/scim/", "/accounts/sso/backchannel-logout/")


class MachineEndpointsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(MACHINE_PREFIXES):
            return self.get_response(request)
        try:
            match = _resolve(request.path_info)
        except Resolver404:
            # No such endpoint (/oauth/nothere, /healthzfoo): the browser chain answers it, with
            # the page and every header any unknown address gets (its CSP, X-Frame-Options).
            return self.get_response(request)
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)


# Where the few machine paths lead, remembered: resolving walks the URL patterns anew on every
# request (a few percent of a token). Only paths that resolve to a fixed route are kept (no id
# in them: anyone, signed in or not, could fill it with /scim/v2/Users/<made up> or
# /oauth/status/<n> before the token endpoint is first called), and only so many; a new
# URLconf (tests) starts it afresh.
_resolved: dict = {}
_RESOLVED_MAX = 64


def _resolve(path: str):
    match = _resolved.get(path)
    if match is None:
        match = resolve(path)  # raises Resolver404 for an unknown path: nothing is kept
        if not (match.args or match.kwargs) and len(_resolved) < _RESOLVED_MAX:
            _resolved[path] = match
    return match


@receiver(setting_changed)
def _forget_resolved(*, setting, **kwargs):
    if setting == "ROOT_URLCONF":
        _resolved.clear()
