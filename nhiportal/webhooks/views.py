"""Webhook pages, for security admins: endpoints, their deliveries, a test send, a redelivery."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from nhiportal.pages import page_of
from nhiportal.people.roles import is_security_admin
from nhiportal.service_forms import submit

from . import selectors
from .delivery import body_of, send_test
from .events import CATEGORIES
from .filters import DeliveryFilter
from .forms import DeleteForm, EndpointForm
from .models import WebhookDelivery, WebhookEndpoint
from .services import QUEUED, delivery_redeliver, endpoint_create, endpoint_delete, endpoint_rotate_secret, endpoint_update


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
        "now": timezone.now(),  # a back-off already over is the next sweep's, not "a minute ago"
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


@login_required
@require_safe
def delivery_list(request, pk):
    endpoint = _endpoint(request, pk)
    found = DeliveryFilter(request.GET, queryset=selectors.deliveries(endpoint))
    valid = found.is_valid()
    page_obj = page_of(request, found.qs if valid else found.queryset.none())
    return render(request, "webhooks/delivery_list.html", {
        "endpoint": endpoint, "filter": found, "valid": valid, "page_obj": page_obj,
        "filtering": any(request.GET.get(name) for name in found.filters),
    }, status=200 if valid else 400)


def _delivery(request, pk, delivery_pk):
    endpoint = _endpoint(request, pk)
    return endpoint, get_object_or_404(WebhookDelivery, pk=delivery_pk, endpoint=endpoint)


@login_required
@require_safe
def delivery_detail(request, pk, delivery_pk):
    endpoint, delivery = _delivery(request, pk, delivery_pk)
    event = selectors.event_of(delivery)
    # The body is the audit record, which the audit log already shows security admins (the trail
    # keeps no secret); the signature, made with the endpoint's secret, is not shown.
    body = json.dumps(body_of(endpoint, event), cls=DjangoJSONEncoder, indent=2) if event else ""
    return render(request, "webhooks/delivery_detail.html", {
        "endpoint": endpoint, "delivery": delivery, "event": event, "body": body,
        "attempts": selectors.attempts(delivery),
        "delivered_later": None if delivery.succeeded else selectors.delivered_later(delivery),
        "refusal": selectors.redelivery_refusal(delivery, endpoint, timezone.now()),
    })


@login_required
@require_POST
def redeliver(request, pk, delivery_pk):
    _endpoint, delivery = _delivery(request, pk, delivery_pk)
    try:
        delivery_redeliver(actor=request.user, delivery=delivery)
    except ValidationError as refusal:
        messages.error(request, " ".join(refusal.messages))
    else:
        messages.success(request, QUEUED.format(delivery.event_id))
    return redirect("webhooks:delivery-detail", pk=pk, delivery_pk=delivery_pk)
