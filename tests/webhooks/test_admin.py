"""Webhook endpoints in Django admin show the URL as the pages do (its origin and a
fingerprint): a chat's incoming-webhook URL is that channel's credential."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from nhiportal.webhooks.services import endpoint_create

SECRET_PATH = "/services/T000/B000/XXXXsecretXXXX"


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root-admin", "root@example.com", "correct-horse-battery-staple")


def test_the_admin_never_shows_a_webhooks_secret_url(superuser, client_for):
    endpoint, secret = endpoint_create(actor=superuser, url=f"https://hooks.example.com{SECRET_PATH}")
    client = client_for(superuser)
    listed = client.get(reverse("admin:webhooks_webhookendpoint_changelist"))
    shown = client.get(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]))
    for page in (listed, shown):
        assert page.status_code == 200
        body = page.content.decode()
        assert "https://hooks.example.com" in body  # the origin, as the pages show it
        assert "XXXXsecretXXXX" not in body and secret not in body
