"""The identity lifecycle through its services: one transaction and one audit event per transition."""

import pytest
from django.core.exceptions import ValidationError

from inventory.models import Status
from inventory.services import (
    StaleEdit,
    TransitionRefused,
    identity_activate,
    identity_attest,
    identity_offboard,
    identity_owners_set,
    identity_reactivate,
    identity_suspend,
    identity_update,
)
from nhiportal.audit.models import AuditEvent



def events_of(identity):
    return list(AuditEvent.objects.filter(identity_id=identity.pk).order_by("id"))


def test_it_registers_with_one_event_naming_the_owners(alice, bob, make_identity):
    identity = make_identity(alice, backups=[bob], credential=False)
    [event] = events_of(identity)
    assert (event.action, event.actor_label) == ("identity.register", "alice")
    assert event.after["owners"] == {"alice": "primary", "bob": "backup"}
    assert identity.status == Status.REGISTERED


def test_it_activates_with_one_event_and_sets_the_attestation_due_date(alice, make_identity):
    identity = make_identity(alice)
    before = len(events_of(identity))
    identity = identity_activate(actor=alice, identity=identity, reason="Go live")
    [event] = events_of(identity)[before:]
    assert (event.action, event.before, event.after, event.reason) == (
        "identity.activate",
        {"status": "registered"},
        {"status": "active"},
        "Go live",
    )
    assert identity.status == Status.ACTIVE
    assert identity.attestation_due is not None


def test_it_lists_everything_activation_is_missing(alice, make_identity):
    identity = make_identity(
        alice, purpose="", trust_boundary="", sensitivity_ceiling=None, offboarding_plan="", credential=False
    )
    with pytest.raises(TransitionRefused) as refused:
        identity_activate(actor=alice, identity=identity)
    assert refused.value.missing == [
        "a purpose",
        "a trust boundary",
        "a data sensitivity ceiling",
        "an offboarding plan",
        "a workload credential",
    ]
    identity.refresh_from_db()
    assert identity.status == Status.REGISTERED
    assert [e.action for e in events_of(identity)] == ["identity.register"]


def test_it_refuses_activation_when_no_owner_is_active(alice, make_identity):
    identity = make_identity(alice)
    alice.is_active = False
    alice.save()
    with pytest.raises(TransitionRefused) as refused:
        identity_activate(actor=alice, identity=identity)
    assert refused.value.missing == ["an active owner"]


def test_it_suspends_with_a_reason_and_one_event(alice, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    before = len(events_of(identity))
    identity = identity_suspend(actor=alice, identity=identity, reason="Prompt injection under review")
    [event] = events_of(identity)[before:]
    assert (event.action, event.reason, event.after) == ("identity.suspend", "Prompt injection under review", {"status": "suspended"})
    assert identity.status_reason == "Prompt injection under review"


def test_it_refuses_to_suspend_without_a_reason(alice, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    before = len(events_of(identity))
    with pytest.raises(ValidationError) as refused:
        identity_suspend(actor=alice, identity=identity, reason="  ")
    assert "reason" in refused.value.message_dict
    identity.refresh_from_db()
    assert identity.status == Status.ACTIVE
    assert len(events_of(identity)) == before


def test_it_reactivates_with_one_event(alice, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    identity = identity_suspend(actor=alice, identity=identity, reason="Investigating")
    before = len(events_of(identity))
    identity = identity_reactivate(actor=alice, identity=identity)
    assert [e.action for e in events_of(identity)[before:]] == ["identity.reactivate"]
    assert identity.status == Status.ACTIVE


@pytest.mark.parametrize("state", ["registered", "active", "suspended"])
def test_it_offboards_from_every_live_state_with_one_event(state, alice, make_identity):
    identity = make_identity(alice)
    if state != "registered":
        identity = identity_activate(actor=alice, identity=identity)
    if state == "suspended":
        identity = identity_suspend(actor=alice, identity=identity, reason="Investigating")
    before = len(events_of(identity))
    identity = identity_offboard(actor=alice, identity=identity, reason="Project ended")
    assert [e.action for e in events_of(identity)[before:]] == ["identity.offboard"]
    assert identity.status == Status.OFFBOARDED


def test_it_keeps_an_offboarded_identity_offboarded(alice, bob, make_identity):
    identity = identity_offboard(actor=alice, identity=make_identity(alice), reason="Project ended")
    before = len(events_of(identity))
    refusals = [
        lambda: identity_activate(actor=alice, identity=identity),
        lambda: identity_reactivate(actor=alice, identity=identity),
        lambda: identity_suspend(actor=alice, identity=identity, reason="x"),
        lambda: identity_offboard(actor=alice, identity=identity, reason="again"),
        lambda: identity_update(actor=alice, identity=identity, expected_version=identity.version, purpose="New"),
        lambda: identity_owners_set(actor=alice, identity=identity, primary_owner=bob),
        lambda: identity_attest(actor=alice, identity=identity),
    ]
    for refuse in refusals:
        with pytest.raises(TransitionRefused):
            refuse()
    identity.refresh_from_db()
    assert identity.status == Status.OFFBOARDED
    assert len(events_of(identity)) == before


def test_it_refuses_a_transition_on_a_stale_version(alice, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    with pytest.raises(StaleEdit):
        identity_suspend(actor=alice, identity=identity, reason="Investigating", expected_version=identity.version - 1)
    identity.refresh_from_db()
    assert identity.status == Status.ACTIVE


def test_it_attests_with_one_event_and_moves_the_due_date(alice, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    identity.__class__.objects.filter(pk=identity.pk).update(attestation_due="2020-01-01")
    before = len(events_of(identity))
    attestation = identity_attest(actor=alice, identity=identity, note="Still needed")
    identity.refresh_from_db()
    assert [e.action for e in events_of(identity)[before:]] == ["identity.attest"]
    assert identity.attestation_due > attestation.attested_at.date()
    assert identity.last_attested_at == attestation.attested_at
