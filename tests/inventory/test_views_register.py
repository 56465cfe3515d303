"""Registering an identity in the browser's form."""

import pytest
from django.urls import reverse

from inventory.models import AIIdentity, Status
from inventory.visibility import CHANGE, can
from nhiportal.audit.models import AuditEvent

REGISTER = reverse("inventory:identity-register")


def form_data(**overrides):
    data = {
        "name": "ticket-summariser",
        "kind": "agent",
        "purpose": "Summarises support tickets for the on-call engineer.",
        "environment": "production",
        "trust_boundary": "corp-internal",
        "autonomy": "supervised",
        "sensitivity_ceiling": "3",
        "offboarding_plan": "Disable the key, end tasks.",
    }
    data.update(overrides)
    return data


def test_it_registers_and_opens_the_identity_page(alice, client_for):
    client = client_for(alice)
    response = client.post(REGISTER, form_data(), follow=True)
    identity = AIIdentity.objects.get(name="ticket-summariser")
    assert response.redirect_chain == [(reverse("inventory:identity-detail", args=[identity.pk]), 302)]
    assert b"Registered ticket-summariser" in response.content
    assert identity.status == Status.REGISTERED
    assert identity.created_by == alice
    assert dict(identity.ownerships.values_list("person__username", "role")) == {"alice": "primary"}
    assert AuditEvent.objects.filter(action="identity.register", identity_id=identity.pk).count() == 1


def test_it_shows_the_missing_purpose_next_to_its_field(alice, client_for):
    response = client_for(alice).post(REGISTER, form_data(purpose=""))
    assert response.status_code == 400
    assert b'<div class="error" id="id_purpose_error"><p>This field is required.</p></div>' in response.content
    assert not AIIdentity.objects.exists()


def test_it_refuses_a_name_already_taken(alice, bob, client_for, make_identity):
    make_identity(bob, name="ticket-summariser")
    response = client_for(alice).post(REGISTER, form_data())
    assert response.status_code == 400
    assert b'id="id_name_error"><p>Another identity already has this name (names are compared without regard to case).' in response.content
    assert AIIdentity.objects.count() == 1


def test_an_owner_is_the_primary_owner_of_what_they_register(alice, bob, client_for):
    # The field is disabled for owners; a forged value is ignored rather than obeyed.
    client_for(alice).post(REGISTER, form_data(primary_owner=bob.pk, backup_owners=[bob.pk]))
    identity = AIIdentity.objects.get()
    assert dict(identity.ownerships.values_list("person__username", "role")) == {"alice": "primary", "bob": "backup"}
    assert can(bob, CHANGE, identity)


def test_a_security_admin_registers_for_someone_else(sam, alice, client_for):
    client_for(sam).post(REGISTER, form_data(primary_owner=alice.pk, attestation_interval_days="30"))
    identity = AIIdentity.objects.get()
    assert dict(identity.ownerships.values_list("person__username", "role")) == {"alice": "primary"}
    assert identity.attestation_interval_days == 30
    assert can(alice, CHANGE, identity)


def test_only_security_admins_set_the_attestation_interval(alice, sam, client_for):
    assert b"attestation_interval_days" not in client_for(alice).get(REGISTER).content
    assert b"attestation_interval_days" in client_for(sam).get(REGISTER).content
    client_for(alice).post(REGISTER, form_data(attestation_interval_days="3650"))
    assert AIIdentity.objects.get().attestation_interval_days == 90


def test_it_offers_only_active_people_as_backups(alice, bob, client_for):
    bob.is_active = False
    bob.save()
    response = client_for(alice).get(REGISTER)
    choices = [label for _, label in response.context["form"].fields["backup_owners"].choices]
    assert "bob" not in choices and "alice" in choices


@pytest.mark.parametrize("persona", ["rita", "carol", "charlie"])
def test_it_refuses_people_who_may_not_register(persona, request, client_for):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(REGISTER).status_code == 403
    assert client.post(REGISTER, form_data()).status_code == 403
    assert not AIIdentity.objects.exists()


def test_it_uses_the_portal_wide_attestation_interval_by_default(alice, sam, client_for, settings):
    settings.NHI = {**settings.NHI, "ATTESTATION_INTERVAL_DAYS": 30}
    assert client_for(sam).get(REGISTER).context["form"]["attestation_interval_days"].value() == 30
    client_for(alice).post(REGISTER, form_data())
    assert AIIdentity.objects.get().attestation_interval_days == 30
