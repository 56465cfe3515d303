"""Webhook pages, for security admins: endpoints, their recent deliveries, a test send."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from nhiportal.pages import page_of
from nhiportal.people.roles import is_security_admin
from nhiportal.service_forms import submit

from . import selectors
from .delivery import send_test
from .events import CATEGORIES
from .forms import DeleteForm, EndpointForm
from .models import WebhookEndpoint
from .services import endpoint_create, endpoint_delete, endpoint_rotate_secret, endpoint_update


def _gate(request):
    if not is_security_admin(request.user):
        raise PermissionDenied("Webhooks are managed by security admins.")


def _endpoint(request, pk):
    _gate(request)
    return get_object_or_404(WebhookEndpoint, pk=pk)


@login_required
def endpoint_list(request):
    _gate(request)
    return render(request, "webhooks/endpoint_list.html", {"page_obj": page_of(request, selectors.endpoints()), "categories": CATEGORIES})


@never_cache  # the response that shows a new secret must sit in no cache
@login_required
def endpoint_new(request):
    _gate(request)
    form = EndpointForm(request.POST or None)
    if request.method == "POST":
        created = submit(form, lambda data: endpoint_create(actor=request.user, **data))
        if created:
            endpoint, secret = created
            return _detail(request, endpoint, secret=secret)
    return render(request, "webhooks/endpoint_form.html", {"form": form}, status=400 if form.errors else 200)


def _detail(request, endpoint, *, secret=None, form=None, status=200):
    return render(request, "webhooks/endpoint_detail.html", {
        "endpoint": endpoint,
        "secret": secret,  # only on the response that created or rotated it
        "deliveries": selectors.recent_deliveries(endpoint),
        "labels": [CATEGORIES[key][0] for key in endpoint.categories],
        "form": form or EndpointForm(initial={
            "url": endpoint.url_masked, "description": endpoint.description, "categories": endpoint.categories,
            "format": endpoint.format, "enabled": endpoint.enabled,
        }),
        "delete_form": DeleteForm(),
    }, status=status)


@never_cache
@login_required
def endpoint_detail(request, pk):
    endpoint = _endpoint(request, pk)
    if request.method == "POST":
        form = EndpointForm(request.POST)
        if submit(form, lambda data: endpoint_update(actor=request.user, endpoint=endpoint, **data)):
            messages.success(request, "Saved.")
            return redirect("webhooks:endpoint-detail", pk=pk)
        return _detail(request, endpoint, form=form, status=400)
    return _detail(request, endpoint)


@never_cache
@login_required
@require_POST
def endpoint_rotate(request, pk):
    endpoint = _endpoint(request, pk)
    secret = endpoint_rotate_secret(actor=request.user, endpoint=endpoint)
    return _detail(request, endpoint, secret=secret)


@login_required
@require_POST
def endpoint_test(request, pk):
    endpoint = _endpoint(request, pk)
    delivery = send_test(endpoint)
    if delivery.succeeded:
        messages.success(request, f"The receiver answered {delivery.status_code} in {delivery.duration_ms} ms.")
    else:
        messages.error(request, f"The test event was not delivered: {delivery.error}.")
    return redirect("webhooks:endpoint-detail", pk=pk)


@login_required
@require_POST
def endpoint_remove(request, pk):
    endpoint = _endpoint(request, pk)
    form = DeleteForm(request.POST)
    if submit(form, lambda data: endpoint_delete(actor=request.user, endpoint=endpoint, reason=data["reason"])):
        messages.success(request, f"Deleted the webhook to {endpoint.url_masked}.")
        return redirect("webhooks:endpoint-list")
    return _detail(request, endpoint, status=400)
