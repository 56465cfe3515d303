"""The sign-in page: a password form, single sign-on through the organisation's provider, or
both (settings PASSWORD_SIGN_IN and SSO)."""

import logging
import re

import requests
from authlib.integrations.base_client import OAuthError
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .second_factor import VERIFIED_KEY, has_second_factor
from .second_factor_views import start_pending_sign_in
from .sessions import PROVIDER_SESSION_KEY
from .single_sign_on import SignInRefused, check_provider_issuer, provider, sso_enabled, sso_sign_in
from .single_sign_out import SIGNED_IN_THROUGH_SSO

logger = logging.getLogger(__name__)
NEXT_KEY = "sso_next"


def _sign_in_choices() -> dict:
    return {
        "password_sign_in": settings.PASSWORD_SIGN_IN,
        "sso_name": settings.SSO["NAME"] if sso_enabled() else None,
    }


class SignInView(LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **_sign_in_choices()}

    def form_valid(self, form):
        person = form.get_user()
        if has_second_factor(person):
            return start_pending_sign_in(self.request, person, self.get_success_url())
        return super().form_valid(form)

    def post(self, request, *args, **kwargs):
        if not settings.PASSWORD_SIGN_IN:
            # Nothing is checked, so a password guessed here tells nobody anything.
            return sign_in_page(request, f"Passwords are not accepted here: sign in with {settings.SSO['NAME']}.", 403)
        return super().post(request, *args, **kwargs)


def admin_sign_in(request, extra_context=None):
    """Django admin's sign-in. Its own password form would be a second way in, beside the
    lockout and around PASSWORD_SIGN_IN, so it sends people to the portal's."""
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = reverse("admin:index")
    if not request.user.is_authenticated:
        return redirect_to_login(next_url)
    if request.user.is_staff:
        return redirect(next_url)
    raise PermissionDenied("Django admin is for staff.")


def sign_in_page(request, message: str, status: int):
    """The sign-in page again, with what went wrong."""
    form = AuthenticationForm(request) if settings.PASSWORD_SIGN_IN else None
    return render(request, "registration/login.html", {"sign_in_error": message, "form": form, **_sign_in_choices()}, status=status)


@never_cache
@require_GET
def sso_start(request):
    """Send the browser to the provider, remembering where it was going."""
    if not sso_enabled():
        raise Http404
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = ""
    request.session[NEXT_KEY] = next_url
    client = provider()
    try:
        check_provider_issuer(client)
        return client.authorize_redirect(request, request.build_absolute_uri(reverse("sso-callback")))
    except Exception as exc:  # the provider is down, or answers with something that is not its metadata
        logger.warning("single sign-on: could not start at %s: %s: %s", settings.SSO["ISSUER"], type(exc).__name__, exc)
        return sign_in_page(request, f"{settings.SSO['NAME']} could not be reached. Try again in a moment.", 502)


def _provider_failed(exc: Exception) -> bool:
    """Whether the provider, not the sign-in, failed: its token or keys endpoint was unreachable,
    slow, or answered 5xx or something other than JSON (RFC 6749 5.2's server errors too). The
    person can do nothing but wait; the provider's operators need the 502 in the logs."""
    if isinstance(exc, requests.RequestException):
        return True
    return isinstance(exc, OAuthError) and exc.error in ("server_error", "temporarily_unavailable")


@never_cache
@require_GET
def sso_callback(request):
    """The provider sends the browser back here with a code; Authlib exchanges it and checks
    the ID token, then the person it names is signed in."""
    if not sso_enabled():
        raise Http404
    if request.GET.get("error"):
        # The person cancelled at the provider, or the provider refused them. Only the error
        # code is shown, and only if it is one: anyone can send a link here with any text.
        error = request.GET["error"]
        logger.warning("single sign-on: the provider answered %.60r: %.200r", error, request.GET.get("error_description", ""))
        code = f" ({error})" if re.fullmatch(r"[a-z_]{1,40}", error) else ""
        return sign_in_page(request, f"{settings.SSO['NAME']} did not sign you in{code}. Start again, or ask your administrator.", 400)
    client = provider()
    if request.user.is_authenticated and not client.framework.get_state_data(request.session, request.GET.get("state")):
        # Back to a callback already used (the browser's back button, a reload): the person is
        # signed in, and this state was spent on it. Nothing to refuse; on to the portal.
        return redirect(resolve_url(settings.LOGIN_REDIRECT_URL))
    try:
        token = client.authorize_access_token(request)
    except Exception as exc:  # a stale or forged state, a refused code, a bad ID token, the provider down
        # Authlib's messages name the failed check, never a token or a code.
        logger.warning("single sign-on: sign-in refused: %s: %s", type(exc).__name__, exc)
        if _provider_failed(exc):
            return sign_in_page(request, f"{settings.SSO['NAME']} could not be reached. Try again in a moment.", 502)
        return sign_in_page(request, "The sign-in could not be completed. Start again from this page.", 400)
    claims = token.get("userinfo")
    if not claims:
        logger.warning("single sign-on: the provider returned no ID token")
        return sign_in_page(request, "The sign-in could not be completed. Start again from this page.", 400)
    try:
        person = sso_sign_in(issuer=settings.SSO["ISSUER"], claims=dict(claims))
    except SignInRefused as exc:
        return sign_in_page(request, str(exc), 403)
    next_url = request.session.pop(NEXT_KEY, "")
    login(request, person, backend="django.contrib.auth.backends.ModelBackend")
    request.session[VERIFIED_KEY] = True  # the provider's sign-in stands for the second factor
    request.session[SIGNED_IN_THROUGH_SSO] = True
    sid = claims.get("sid")
    if isinstance(sid, str) and 0 < len(sid) <= 255:
        # The provider's session: a back-channel logout naming it ends this session alone.
        request.session[PROVIDER_SESSION_KEY] = sid
    return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
