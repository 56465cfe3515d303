from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from .ending_sessions import own_other_sessions_end, own_session_end
from .forms import APITokenCreateForm
from .models import TokenPurpose
from .second_factor import VERIFIED_KEY, required_for
from .selectors import api_tokens_of, sessions_of
from .services import api_token_create, api_token_revoke


@never_cache  # the page that shows a new token must not sit in any cache
@login_required
def token_list(request):
    """List your tokens; creating one shows its value on this response only, never again."""
    raw_token = None
    if request.method == "POST":
        form = APITokenCreateForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                token, raw_token = api_token_create(
                    user=request.user, name=form.cleaned_data["name"], days=form.cleaned_data["days"],
                    purpose=form.cleaned_data.get("purpose", TokenPurpose.API),
                    made_with_second_factor=bool(request.session.get(VERIFIED_KEY)),
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                # No redirect: the value lives in this response alone, not in a session or message.
                form = APITokenCreateForm(user=request.user)
    else:
        form = APITokenCreateForm(user=request.user)
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
