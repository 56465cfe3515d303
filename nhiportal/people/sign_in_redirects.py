"""A form sent after the session ended: sign in again, and come back to the page the form was on.

login_required (and the second-factor middleware) answer a request from someone no longer
signed in with a redirect to the sign-in page, `next` naming the request's own address. For a
page opened with GET that is right: after signing in, the browser opens it again. For a form's
POST it is not: the browser would GET an address that takes only a form's button (405), and
what the form said is lost anyway. So for any method but GET and HEAD, `next` becomes the page
the form was on (the Referer, if it is one of the portal's own addresses; else the dashboard),
and once the person is signed in again a message says that what they sent was not done.
"""

import time
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

# Where the anonymous session keeps when a form was turned away; login() keeps the session's
# data when nobody was signed in to it, so the sign-in (password, second factor or single
# sign-on) finds it there.
UNSENT_KEY = "form_not_sent_at"
# A sign-in long after the form was turned away is not "signing in again" for it.
UNSENT_FOR_SECONDS = 3600
NOT_DONE = "You had been signed out, so the form you sent was not acted on and nothing changed. Try it again."


def _is_sign_in_for_this_request(request, response) -> bool:
    if response.status_code != 302:
        return False
    location = urlsplit(response["Location"])
    if location.path != resolve_url(settings.LOGIN_URL):
        return False
    back_to = parse_qs(location.query).get("next", [])
    return len(back_to) == 1 and unquote(urlsplit(back_to[0]).path) == request.path


def page_the_form_was_on(request) -> str:
    """The Referer as a path on this portal, if it is one of the portal's pages; else the dashboard."""
    referer = request.META.get("HTTP_REFERER", "")
    if url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        parts = urlsplit(referer)
        if parts.path.startswith("/") and not parts.path.startswith(resolve_url(settings.LOGIN_URL)):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return resolve_url(settings.LOGIN_REDIRECT_URL)


class FormAfterSignOutMiddleware:
    """Sits after the session and authentication middleware and before anything that sends
    people to sign in (the second-factor middleware, the views), so it sees each such redirect."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method in ("GET", "HEAD") or request.user.is_authenticated:
            return response
        if not _is_sign_in_for_this_request(request, response):
            return response
        request.session[UNSENT_KEY] = time.time()
        return redirect_to_login(page_the_form_was_on(request))


def say_the_form_was_not_sent(sender, request, user, **kwargs):
    """Receives user_logged_in: if a form was turned away for want of a session shortly before,
    the page the person lands on says it was not acted on."""
    session = getattr(request, "session", None)
    if session is None:
        return
    turned_away_at = session.pop(UNSENT_KEY, None)
    if isinstance(turned_away_at, (int, float)) and 0 <= time.time() - turned_away_at <= UNSENT_FOR_SECONDS:
        # fail_silently: a sign-in outside a page request (the test client's login) has no messages.
        messages.warning(request, NOT_DONE, fail_silently=True)
