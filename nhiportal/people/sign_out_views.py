"""Signing out: of the portal, and on to the identity provider after a single sign-on; and the
provider's back-channel logout, a machine endpoint (see single_sign_out.py)."""

import logging

from django.contrib.auth.views import LogoutView
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .single_sign_on import sso_enabled
from .single_sign_out import SIGNED_IN_THROUGH_SSO, LogoutRefused, logout_token_claims, provider_sign_out_url, sso_sign_out

logger = logging.getLogger(__name__)


class SignOutView(LogoutView):
    """Django's sign-out (POST only). A session signed in through the provider then ends at the
    provider too, when it publishes an end_session_endpoint: otherwise the next "Sign in with"
    would sign the person straight back in without asking."""

    def post(self, request, *args, **kwargs):
        through_provider = request.session.get(SIGNED_IN_THROUGH_SSO, False) and sso_enabled()
        response = super().post(request, *args, **kwargs)
        if through_provider:
            url = provider_sign_out_url(request.build_absolute_uri(reverse("login")))
            if url:
                return HttpResponseRedirect(url)
        return response


@csrf_exempt  # the provider posts it, with no browser and no cookie: the signed token is the proof
@require_POST
def sso_backchannel_logout(request):
    """The provider says a person signed out there (Back-Channel Logout 1.0, section 2.8):
    200 once their sessions are ended, 400 with the reason when the token is refused."""
    if not sso_enabled():
        raise Http404
    try:
        sso_sign_out(claims=logout_token_claims(request.POST.get("logout_token", "")))
    except LogoutRefused as exc:
        logger.warning("single sign-out: logout token refused: %s", exc)
        response = JsonResponse({"error": "invalid_request", "error_description": str(exc)}, status=400)
    else:
        response = HttpResponse(status=200)
    response["Cache-Control"] = "no-store"
    return response
