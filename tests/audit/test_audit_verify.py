import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from inventory.services import identity_activate
from nhiportal.audit.models import AuditEvent


def test_it_passes_an_intact_chain(alice, make_identity, capsys):
    identity = make_identity(alice)
    identity_activate(actor=alice, identity=identity)
    call_command("audit_verify")
    assert "Audit chain intact" in capsys.readouterr().out


def test_it_links_each_event_to_the_previous_one(alice, make_identity):
    make_identity(alice)
    make_identity(alice)
    events = list(AuditEvent.objects.order_by("id"))
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:]))


def test_it_names_the_first_edited_row(alice, make_identity):
    make_identity(alice)
    identity = make_identity(alice)
    identity_activate(actor=alice, identity=identity)
    target = AuditEvent.objects.order_by("id")[1]
    # Tamper the way an attacker with database access would: straight SQL, bypassing the model.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = %s WHERE id = %s", ["nothing to see", target.id])
    with pytest.raises(CommandError, match=f"event {target.id}: content does not match"):
        call_command("audit_verify")


def test_it_detects_a_deleted_row(alice, make_identity):
    for _ in range(3):
        make_identity(alice)
    victim = AuditEvent.objects.order_by("id")[1]
    following = AuditEvent.objects.order_by("id")[2]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [victim.id])
    with pytest.raises(CommandError, match=f"event {following.id}: previous hash"):
        call_command("audit_verify")


def test_it_refuses_to_edit_an_event_through_the_model(alice, make_identity):
    make_identity(alice)
    event = AuditEvent.objects.first()
    event.reason = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
