"""Who changes an identity's owners: the primary owner and security admins change anything; a
backup owner adds backups and removes themselves, never the primary owner or another owner."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from inventory.claims import claim_approve, claim_create
from inventory.handover import ownerships_hand_over
from inventory.services import identity_owners_set
from inventory.visibility import VIEW, can
from nhiportal.audit.models import AuditEvent
from nhiportal.audit.services import agent_actor, system_actor
from nhiportal.people.roles import OWNER
from tests.conftest import _person


@pytest.fixture
def erin(db):
    """Another owner: only people with the owner (or security admin) role are made owners."""
    return _person("erin", OWNER)


def owners_api(identity):
    return reverse("api:identity-owners", args=[identity.pk])


def put(client, identity, **body):
    return client.put(owners_api(identity), body, content_type="application/json")


def roles(identity):
    return dict(identity.ownerships.values_list("person__username", "role"))


def test_a_backup_owner_cannot_take_the_identity_from_its_primary_owner(alice, bob, client_for, make_identity):
    # The penetration test's request: alice, a backup on bob's identity, names herself alone.
    identity = make_identity(bob, backups=[alice])

    response = put(client_for(alice), identity, primary_owner="alice", backup_owners=[])

    assert response.status_code == 400
    assert response.json()["primary_owner"] == ["Only the primary owner or a security admin changes the primary owner. Keep bob."]
    assert roles(identity) == {"bob": "primary", "alice": "backup"}
    assert can(bob, VIEW, identity)
    assert not AuditEvent.objects.filter(action="identity.owners_set").exists()


def test_a_backup_owner_cannot_make_someone_else_primary(alice, bob, charlie, client_for, make_identity):
    identity = make_identity(bob, backups=[alice])
    response = put(client_for(alice), identity, primary_owner="charlie", backup_owners=["alice", "bob"])
    assert response.status_code == 400 and set(response.json()) == {"primary_owner"}
    assert roles(identity) == {"bob": "primary", "alice": "backup"}


def test_a_backup_owner_cannot_remove_another_backup(alice, bob, erin, client_for, make_identity):
    identity = make_identity(bob, backups=[alice, erin])
    response = put(client_for(alice), identity, primary_owner="bob", backup_owners=["alice"])
    assert response.status_code == 400
    assert response.json()["backup_owners"] == [
        "Only the primary owner or a security admin removes other owners: keep erin. You may add backups, or remove yourself."
    ]
    assert roles(identity) == {"bob": "primary", "alice": "backup", "erin": "backup"}


def test_a_backup_owner_adds_backups(alice, bob, erin, client_for, make_identity):
    identity = make_identity(bob, backups=[alice])
    response = put(client_for(alice), identity, primary_owner="bob", backup_owners=["alice", "erin"])
    assert response.status_code == 200
    assert roles(identity) == {"bob": "primary", "alice": "backup", "erin": "backup"}


def test_a_backup_owner_removes_themselves(alice, bob, client_for, make_identity):
    identity = make_identity(bob, backups=[alice])
    response = put(client_for(alice), identity, primary_owner="bob", backup_owners=[])
    assert response.status_code == 200
    assert roles(identity) == {"bob": "primary"} and not can(alice, VIEW, identity)


def test_the_primary_owner_removes_backups_and_hands_over(alice, bob, erin, client_for, make_identity):
    identity = make_identity(bob, backups=[alice, erin])
    assert put(client_for(bob), identity, primary_owner="bob", backup_owners=["erin"]).status_code == 200
    assert put(client_for(bob), identity, primary_owner="erin", backup_owners=["bob"]).status_code == 200
    assert roles(identity) == {"erin": "primary", "bob": "backup"}


def test_a_security_admin_who_owns_nothing_changes_any_owner(alice, bob, sam, client_for, make_identity):
    identity = make_identity(bob, backups=[alice])
    assert put(client_for(sam), identity, primary_owner="alice", backup_owners=[]).status_code == 200
    assert roles(identity) == {"alice": "primary"}


def test_someone_who_neither_owns_it_nor_administers_security_changes_no_owner(alice, rita, make_identity):
    identity = make_identity(alice)
    for actor in (rita, system_actor("tests"), agent_actor(str(identity.pk))):
        with pytest.raises(PermissionDenied):
            identity_owners_set(actor=actor, identity=identity, primary_owner=rita)
    assert roles(identity) == {"alice": "primary"}


def test_the_owners_page_puts_the_refusal_next_to_the_field(alice, bob, client_for, make_identity):
    identity = make_identity(bob, backups=[alice])
    url = reverse("inventory:identity-owners", args=[identity.pk])
    page = client_for(alice).get(url).content.decode()
    assert "only the primary owner or a security admin removes others" in page

    response = client_for(alice).post(url, {"primary_owner": alice.pk, "version": identity.version})

    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_primary_owner_error"><p>Only the primary owner or a security admin changes the primary owner. Keep bob.' in body
    assert roles(identity) == {"bob": "primary", "alice": "backup"}


def test_a_reviewer_approving_a_claim_still_makes_the_claimant_primary(alice, bob, rita, make_identity):
    identity = make_identity(alice, backups=[])
    alice.is_active = False
    alice.save()
    claim = claim_create(actor=bob, identity=identity, reason="I took over the team that runs it.")
    claim_approve(actor=rita, claim=claim)
    assert roles(identity) == {"bob": "primary", "alice": "backup"}


def test_a_security_admin_still_hands_a_leavers_identities_over(alice, bob, erin, sam, make_identity):
    led = make_identity(alice, backups=[erin])
    backed = make_identity(erin, backups=[alice])
    assert ownerships_hand_over(actor=sam, leaver=alice, successor=bob, reason="alice left")["identities"] == 2
    assert roles(led) == {"bob": "primary", "erin": "backup"}
    assert roles(backed) == {"erin": "primary", "bob": "backup"}
