from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def dashboard(request):
    return render(request, "inventory/dashboard.html", {})


@login_required
def identity_list(request):
    return render(request, "inventory/dashboard.html", {})
