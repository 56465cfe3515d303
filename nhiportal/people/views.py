from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .forms import APITokenCreateForm
from .models import TokenPurpose
from .selectors import api_tokens_of
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
        {"form": form, "page_obj": page, "tokens": page.object_list, "raw_token": raw_token},
        status=400 if form.errors else 200,
    )


@require_POST
@login_required
def token_revoke(request, pk):
    token = get_object_or_404(api_tokens_of(request.user), pk=pk)
    api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token “{token.name}” revoked. Calls made with it now get 401.")
    return redirect("people:token-list")
