"""Lifecycle actions through the API: POST /identities/{id}/<action>/."""

import pytest
from django.urls import reverse

from inventory.models import Status
from inventory.services import identity_activate, identity_update
from nhiportal.audit.models import AuditEvent


def act(client, identity, action, **body):
    return client.post(reverse(f"api:identity-{action}", args=[identity.pk]), body, content_type="application/json")


def test_it_activates_a_complete_identity(alice, client_for, make_identity):
    identity = make_identity(alice)
    response = act(client_for(alice), identity, "activate", reason="Go live")
    assert response.status_code == 200
    assert response.json()["status"] == "active"
    assert response.json()["attestation_due"]
    event = AuditEvent.objects.get(action="identity.activate")
    assert (event.reason, event.actor_label) == ("Go live", "alice")


def test_it_refuses_activation_with_what_is_missing(alice, client_for, make_identity):
    identity = make_identity(alice, purpose="", offboarding_plan="")
    response = act(client_for(alice), identity, "activate")
    assert response.status_code == 409
    body = response.json()
    assert body["missing"] == ["a purpose", "an offboarding plan"]
    assert "missing" in body["detail"]
    identity.refresh_from_db()
    assert identity.status == Status.REGISTERED


def test_it_lists_what_other_apps_require_for_activation(alice, client_for, make_identity):
    # The token service requires a workload credential; the API passes its word on.
    response = act(client_for(alice), make_identity(alice, credential=False), "activate")
    assert response.status_code == 409
    assert response.json()["missing"] == ["a workload credential"]


def test_it_suspends_and_reactivates(alice, client_for, make_identity):
    identity = make_identity(alice)
    identity_activate(actor=alice, identity=identity)
    api = client_for(alice)
    assert act(api, identity, "suspend", reason="Prompt injection under review").json()["status"] == "suspended"
    assert act(api, identity, "reactivate").json()["status"] == "active"


def test_it_requires_a_reason_to_suspend_or_offboard(alice, client_for, make_identity):
    identity = make_identity(alice)
    identity_activate(actor=alice, identity=identity)
    api = client_for(alice)
    for action in ("suspend", "offboard"):
        response = act(api, identity, action)
        assert response.status_code == 400
        assert "reason" in response.json()
    identity.refresh_from_db()
    assert identity.status == Status.ACTIVE


def test_it_refuses_a_transition_the_status_does_not_allow(alice, client_for, make_identity):
    identity = make_identity(alice)
    response = act(client_for(alice), identity, "reactivate")
    assert response.status_code == 409
    assert response.json()["detail"] == "Cannot reactivate an identity that is registered."


def test_it_offboards_for_good(alice, client_for, make_identity):
    identity = make_identity(alice)
    api = client_for(alice)
    response = act(api, identity, "offboard", reason="Project ended")
    assert response.status_code == 200
    assert response.json()["status"] == "offboarded" and response.json()["allowed_actions"] == []
    assert act(api, identity, "activate").status_code == 409


def test_it_refuses_a_transition_at_a_stale_version(alice, client_for, make_identity):
    identity = make_identity(alice)
    identity_update(actor=alice, identity=identity, expected_version=1, purpose="Changed meanwhile.")
    response = act(client_for(alice), identity, "activate", version=1)
    assert response.status_code == 409
    assert act(client_for(alice), identity, "activate", version=2).status_code == 200


def test_it_records_an_attestation(alice, client_for, make_identity):
    identity = make_identity(alice)
    identity_activate(actor=alice, identity=identity)
    response = act(client_for(alice), identity, "attest", reason="Still triaging invoices.")
    assert response.status_code == 200
    assert response.json()["last_attested_at"]
    assert identity.attestations.get().note == "Still triaging invoices."


def test_it_lets_only_owners_attest(alice, sam, client_for, make_identity):
    identity = make_identity(alice)
    identity_activate(actor=alice, identity=identity)
    response = act(client_for(sam), identity, "attest")
    assert response.status_code == 403
    assert not identity.attestations.exists()


def test_it_refuses_to_attest_a_registered_identity(alice, client_for, make_identity):
    assert act(client_for(alice), make_identity(alice), "attest").status_code == 409


@pytest.mark.parametrize("action", ["activate", "suspend", "reactivate", "offboard", "attest"])
def test_it_refuses_read_only_roles_with_a_403(action, alice, rita, carol, client_for, make_identity):
    identity = make_identity(alice)
    for person in (rita, carol):
        assert act(client_for(person), identity, action, reason="x").status_code == 403
    assert identity.version == 1 and not AuditEvent.objects.filter(action__startswith=f"identity.{action}").exists()


@pytest.mark.parametrize("action", ["activate", "suspend", "reactivate", "offboard", "attest"])
def test_it_hides_actions_from_an_outsider_with_a_404(action, alice, charlie, client_for, make_identity):
    identity = make_identity(alice)
    assert act(client_for(charlie), identity, action, reason="x").status_code == 404


def test_it_lets_a_security_admin_act_on_any_identity(alice, sam, client_for, make_identity):
    identity = make_identity(alice)
    identity_activate(actor=alice, identity=identity)
    response = act(client_for(sam), identity, "suspend", reason="Exposure reported")
    assert response.status_code == 200
    assert AuditEvent.objects.get(action="identity.suspend").actor_label == "sam"


def test_it_accepts_lifecycle_actions_only_by_post(alice, client_for, make_identity):
    identity = make_identity(alice)
    assert client_for(alice).get(reverse("api:identity-activate", args=[identity.pk])).status_code == 405
