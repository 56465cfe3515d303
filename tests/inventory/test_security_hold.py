"""An identity a security admin suspended (by hand, or confirming an exposure) stays suspended
until a security admin reactivates it: the owners under investigation cannot undo it."""

import pytest
from django.urls import reverse

from inventory.models import Status
from inventory.services import identity_activate, identity_suspend
from nhiportal.audit.models import AuditEvent


@pytest.fixture
def active(alice, make_identity):
    return identity_activate(actor=alice, identity=make_identity(alice))


def reactivate(client, identity):
    return client.post(reverse("api:identity-reactivate", args=[identity.pk]), {}, content_type="application/json")


def test_only_a_security_admin_reactivates_what_a_security_admin_suspended(client_for, alice, sam, active):
    identity_suspend(actor=sam, identity=active, reason="Key found in a public repository")
    response = reactivate(client_for(alice), active)
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "A security admin suspended it (Key found in a public repository): only a security admin reactivates it."
    )
    active.refresh_from_db()
    assert active.status == Status.SUSPENDED and not AuditEvent.objects.filter(action="identity.reactivate").exists()
    assert reactivate(client_for(sam), active).json()["status"] == "active"


def test_the_owner_reads_why_there_is_no_reactivate_button(client_for, alice, sam, active):
    identity_suspend(actor=sam, identity=active, reason="Under investigation")
    page = client_for(alice).get(reverse("inventory:identity-detail", args=[active.pk]))
    assert b"only a security admin reactivates it" in page.content
    assert reverse("inventory:identity-reactivate", args=[active.pk]).encode() not in page.content
    refused = client_for(alice).post(
        reverse("inventory:identity-reactivate", args=[active.pk]), {"version": active.version + 1, "reason": ""}, follow=True
    )
    assert refused.redirect_chain == [(reverse("inventory:identity-detail", args=[active.pk]), 302)]
    assert b"only a security admin reactivates it" in refused.content
    active.refresh_from_db()
    assert active.status == Status.SUSPENDED
    admin_page = client_for(sam).get(reverse("inventory:identity-detail", args=[active.pk]))
    assert reverse("inventory:identity-reactivate", args=[active.pk]).encode() in admin_page.content


def test_an_owner_reactivates_what_an_owner_suspended(client_for, alice, active):
    identity_suspend(actor=alice, identity=active, reason="Pausing for the migration")
    assert reactivate(client_for(alice), active).json()["status"] == "active"


def test_the_hold_ends_with_the_suspension(client_for, alice, sam, active):
    identity_suspend(actor=sam, identity=active, reason="Under investigation")
    reactivate(client_for(sam), active)
    active.refresh_from_db()
    identity_suspend(actor=alice, identity=active, reason="Pausing")
    assert reactivate(client_for(alice), active).json()["status"] == "active"
