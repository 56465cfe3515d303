"""A URLconf whose /healthz is another view, for tests/nhiportal/test_machine_endpoints.py."""

from django.http import HttpResponse
from django.urls import path

urlpatterns = [path("healthz", lambda request: HttpResponse(status=204))]
