from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from .ending_sessions import own_other_sessions_end, own_session_end
from .forms import APITokenCreateForm, CountedPasswordChangeForm
from .models import TokenPurpose
from .reauthentication import note_confirmed
from .second_factor import VERIFIED_KEY, required_for
from .selectors import api_tokens_of, sessions_of
from .services import api_token_create, api_token_revoke, password_change


@never_cache  # the page that shows a new token must not sit in any cache
@login_required
def token_list(request):
    """List your tokens; creating one (after confirming it is you, unless done within minutes)
    shows its value on this response only, never again."""
    raw_token = None
    if request.method == "POST":
        form = APITokenCreateForm(request.POST, request=request)
        if form.is_valid():
            try:
                token, raw_token = api_token_create(
                    user=request.user, name=form.cleaned_data["name"], days=form.cleaned_data["days"],
                    purpose=form.cleaned_data.get("purpose", TokenPurpose.API),
                    made_with_second_factor=bool(request.session.get(VERIFIED_KEY)),
                    session_key=request.session.session_key,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                # No redirect: the value lives in this response alone, not in a session or message.
                form = APITokenCreateForm(request=request)
    else:
        form = APITokenCreateForm(request=request)
    page = Paginator(api_tokens_of(request.user), settings.NHI["PAGE_SIZE"]).get_page(request.GET.get("page"))
    return render(
        request,
        "people/token_list.html",
        {
            "form": form, "page_obj": page, "tokens": page.object_list, "raw_token": raw_token,
            "second_factor_required": required_for(request.user),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@login_required
def token_revoke(request, pk):
    token = get_object_or_404(api_tokens_of(request.user), pk=pk)
    api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token “{token.name}” revoked. Calls made with it now get 401.")
    return redirect("people:token-list")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def own_sessions(request):
    """Every browser signed in as you: when, from where, until when. POST signs out one of
    them (`session`) or all but this one (a laptop left signed in, a session you do not recognise)."""
    current = request.session.session_key
    if request.method == "POST":
        if "session" in request.POST:
            if own_session_end(person=request.user, reference=request.POST["session"], current_session_key=current):
                messages.success(request, "Signed that session out: its browser has to sign in again.")
            else:
                messages.info(request, "That session was no longer open.")
        else:
            ended = own_other_sessions_end(person=request.user, current_session_key=current)
            messages.success(request, f"Signed out {ended} other session{pluralize(ended)}." if ended else "No other session was open.")
        return redirect("people:sessions")
    sessions = sessions_of(request.user, current_session_key=current)
    return render(request, "people/sessions.html", {"sessions": sessions, "others": sum(not s.is_current for s in sessions)})


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, with the old password counted toward the sign-in lockout, and
    the change made by services.password_change: the other sessions end, with the API tokens
    made in them, and one audit event says so."""

    form_class = CountedPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        person, ended, revoked = password_change(
            person=self.request.user, new_password=form.cleaned_data["new_password1"],
            current_session_key=self.request.session.session_key,
        )
        update_session_auth_hash(self.request, person)  # this browser stays signed in
        note_confirmed(self.request)  # the old password was typed just now
        if ended:
            tokens = f" and revoked {revoked} API token{pluralize(revoked)} made there" if revoked else ""
            messages.success(self.request, f"Signed out {ended} other session{pluralize(ended)}{tokens}.")
        return HttpResponseRedirect(self.get_success_url())
