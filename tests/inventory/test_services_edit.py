"""Editing an identity and its owners through the services."""

import pytest
from django.urls import reverse

from inventory.services import StaleEdit, identity_owners_set, identity_update
from inventory.visibility import CHANGE, VIEW, can
from nhiportal.audit.models import AuditEvent


def test_it_updates_fields_with_one_event_and_a_new_version(alice, make_identity):
    identity = make_identity(alice)
    identity = identity_update(actor=alice, identity=identity, expected_version=1, purpose="Triages alerts.")
    event = AuditEvent.objects.get(action="identity.update")
    assert (event.before, event.after) == ({"purpose": "Summarises support tickets for the on-call engineer."}, {"purpose": "Triages alerts."})
    assert identity.version == 2


def test_it_refuses_a_stale_edit_and_writes_nothing(alice, bob, make_identity):
    identity = make_identity(alice, backups=[bob])
    identity_update(actor=bob, identity=identity, expected_version=1, purpose="Bob's purpose.")
    with pytest.raises(StaleEdit):
        identity_update(actor=alice, identity=identity, expected_version=1, purpose="Alice's purpose.")
    identity.refresh_from_db()
    assert identity.purpose == "Bob's purpose."
    assert AuditEvent.objects.filter(action="identity.update").count() == 1


def test_it_records_nothing_when_nothing_changed(alice, make_identity):
    identity = make_identity(alice)
    identity = identity_update(actor=alice, identity=identity, expected_version=1, purpose=identity.purpose)
    assert identity.version == 1
    assert not AuditEvent.objects.filter(action="identity.update").exists()


def test_it_moves_permissions_with_the_owners(alice, bob, client_for, make_identity):
    identity = make_identity(alice)
    identity_owners_set(actor=alice, identity=identity, primary_owner=bob, backup_owners=[])
    assert can(bob, CHANGE, identity)
    assert not can(alice, VIEW, identity)
    event = AuditEvent.objects.get(action="identity.owners_set")
    assert (event.before, event.after) == ({"owners": {"alice": "primary"}}, {"owners": {"bob": "primary"}})
    page = reverse("inventory:identity-detail", args=[identity.pk])
    assert client_for(alice).get(page).status_code == 404
    assert client_for(bob).get(page).status_code == 200


def test_it_swaps_primary_and_backup(alice, bob, make_identity):
    identity = make_identity(alice, backups=[bob])
    identity_owners_set(actor=alice, identity=identity, primary_owner=bob, backup_owners=[alice])
    roles = dict(identity.ownerships.values_list("person__username", "role"))
    assert roles == {"alice": "backup", "bob": "primary"}
    assert can(alice, CHANGE, identity) and can(bob, CHANGE, identity)
