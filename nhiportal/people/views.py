from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def token_list(request):
    # Placeholder until personal API tokens get their page.
    return render(request, "people/token_list.html", {"tokens": request.user.api_tokens.all()})
