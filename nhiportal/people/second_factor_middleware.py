"""People whose role requires a second factor (settings.MFA_REQUIRED_ROLES) and who signed in
with a password alone are sent to enrol an authenticator app before anything else: only the
enrolment page, signing out and static files stay open to them."""

from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse

from .second_factor import VERIFIED_KEY, has_second_factor, required_for


class SecondFactorRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not request.session.get(VERIFIED_KEY) and required_for(user):
            open_paths = (reverse("second-factor"), reverse("logout"), "/static/")
            if not request.path_info.startswith(open_paths):
                if has_second_factor(user):
                    # A session from before the app was enrolled: sign in again, with a code.
                    logout(request)
                    return redirect(f"{reverse('login')}?next={request.path}")
                return redirect("second-factor")
        return self.get_response(request)
