"""Django admin shows the inventory but changes nothing: changes go through the portal's services."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from inventory.models import AIIdentity, Status


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "irrelevant-password-123")


def test_it_lists_and_shows_identities_with_a_link_to_the_portal(root, alice, bob, client_for, make_identity):
    identity = make_identity(alice, backups=[bob], name="ticket-summariser")
    client = client_for(root)
    assert b"ticket-summariser" in client.get(reverse("admin:inventory_aiidentity_changelist"), {"q": "ticket"}).content
    body = client.get(reverse("admin:inventory_aiidentity_change", args=[identity.pk])).content.decode()
    assert reverse("inventory:identity-detail", args=[identity.pk]) in body
    assert "bob" in body  # the ownership inline


def test_it_refuses_changes_through_the_admin(root, alice, client_for, make_identity):
    identity = make_identity(alice)
    client = client_for(root)
    assert client.get(reverse("admin:inventory_aiidentity_add")).status_code == 403
    response = client.post(reverse("admin:inventory_aiidentity_change", args=[identity.pk]), {"status": "active"})
    assert response.status_code == 403
    assert client.post(reverse("admin:inventory_aiidentity_delete", args=[identity.pk]), {"post": "yes"}).status_code == 403
    assert AIIdentity.objects.get(pk=identity.pk).status == Status.REGISTERED


@pytest.mark.parametrize("model", ["ownership", "attestation"])
def test_it_lists_ownerships_and_attestations_read_only(model, root, client_for):
    client = client_for(root)
    assert client.get(reverse(f"admin:inventory_{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:inventory_{model}_add")).status_code == 403


def test_it_keeps_non_staff_out(alice, client_for):
    assert client_for(alice).get(reverse("admin:inventory_aiidentity_changelist")).status_code == 302
