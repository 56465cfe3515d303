"""Owners through the API: GET and PUT /identities/{id}/owners/."""

from django.urls import reverse

from inventory.models import Ownership
from nhiportal.audit.models import AuditEvent


def owners_url(identity):
    return reverse("api:identity-owners", args=[identity.pk])


def put(client, identity, **body):
    return client.put(owners_url(identity), body, content_type="application/json")


def test_it_shows_the_owners_primary_first(alice, bob, client_for, make_identity):
    identity = make_identity(bob, backups=[alice])
    body = client_for(alice).get(owners_url(identity)).json()
    assert [(o["username"], o["role"], o["active"]) for o in body["owners"]] == [
        ("bob", "primary", True),
        ("alice", "backup", True),
    ]
    assert body["version"] == 1


def test_it_replaces_the_owners(alice, bob, client_for, make_identity):
    identity = make_identity(alice)
    response = put(client_for(alice), identity, primary_owner="bob", backup_owners=["alice"], version=1)
    assert response.status_code == 200
    assert [(o["username"], o["role"]) for o in response.json()["owners"]] == [("bob", "primary"), ("alice", "backup")]
    assert response.json()["version"] == 2
    assert AuditEvent.objects.filter(action="identity.owners_set").count() == 1


def test_it_answers_even_when_you_hand_the_identity_over_entirely(alice, bob, client_for, make_identity):
    identity = make_identity(alice)
    response = put(client_for(alice), identity, primary_owner="bob")
    assert response.status_code == 200
    assert [o["username"] for o in response.json()["owners"]] == ["bob"]
    # Alice no longer owns it, so it is now out of her sight.
    assert client_for(alice).get(owners_url(identity)).status_code == 404


def test_it_refuses_unknown_or_inactive_people(alice, bob, client_for, make_identity):
    identity = make_identity(alice)
    bob.is_active = False
    bob.save()
    response = put(client_for(alice), identity, primary_owner="bob", backup_owners=["nobody"])
    assert response.status_code == 400
    assert set(response.json()) == {"primary_owner", "backup_owners"}
    assert list(Ownership.objects.values_list("person__username", flat=True)) == ["alice"]


def test_it_keeps_an_inactive_backup_sent_back_as_read(alice, bob, client_for, make_identity):
    identity = make_identity(alice, backups=[bob])
    bob.is_active = False
    bob.save()
    response = put(client_for(alice), identity, primary_owner="alice", backup_owners=["bob"])
    assert response.status_code == 200
    assert [(o["username"], o["active"]) for o in response.json()["owners"]] == [("alice", True), ("bob", False)]
    assert put(client_for(alice), identity, primary_owner="bob").status_code == 400


def test_it_refuses_a_stale_owner_change(alice, bob, client_for, make_identity):
    identity = make_identity(alice)
    api = client_for(alice)
    put(api, identity, primary_owner="alice", backup_owners=["bob"], version=1)
    assert put(api, identity, primary_owner="alice", version=1).status_code == 409


def test_it_refuses_read_only_roles_with_a_403(alice, rita, carol, client_for, make_identity):
    identity = make_identity(alice)
    for person in (rita, carol):
        assert client_for(person).get(owners_url(identity)).status_code == 200
        assert put(client_for(person), identity, primary_owner=person.username).status_code == 403


def test_it_hides_owners_from_an_outsider_with_a_404(alice, charlie, client_for, make_identity):
    identity = make_identity(alice)
    assert client_for(charlie).get(owners_url(identity)).status_code == 404
    assert put(client_for(charlie), identity, primary_owner="charlie").status_code == 404
