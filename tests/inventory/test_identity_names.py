"""Identity names are unique regardless of case, stored in Unicode NFKC, and the audit and
decision filters name exactly one identity."""

import json

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from inventory.models import AIIdentity
from inventory.services import identity_activate, identity_update
from nhiportal.audit.models import AuditEvent
from tests.inventory.test_imports import HEADER, upload
from tests.inventory.test_views_register import REGISTER, form_data

TAKEN = "Another identity already has this name (names are compared without regard to case)."


def register_api(client, **fields):
    body = {"name": "payroll-bot-9acd", "kind": "agent", "environment": "production", "purpose": "Pays people.", **fields}
    return client.post("/api/v1/identities/", json.dumps(body), content_type="application/json")


def test_a_name_in_another_case_is_refused_through_the_api(alice, bob, client_for, make_identity):
    # The penetration test: alice owns Payroll-Bot-9acd; bob registers payroll-bot-9acd.
    make_identity(alice, name="Payroll-Bot-9acd")
    response = register_api(client_for(bob))
    assert response.status_code == 400 and response.json() == {"name": [TAKEN]}
    assert AIIdentity.objects.count() == 1


def test_a_name_in_another_case_is_refused_next_to_the_field_on_the_register_page(alice, bob, client_for, make_identity):
    make_identity(alice, name="Ticket-Summariser")
    response = client_for(bob).post(REGISTER, form_data(name="TICKET-summariser"))
    assert response.status_code == 400
    assert f'id="id_name_error"><p>{TAKEN}' in response.content.decode()
    assert AIIdentity.objects.count() == 1


def test_a_look_alike_spelled_in_full_width_letters_is_the_same_name(alice, bob, client_for, make_identity):
    make_identity(alice, name="payroll-bot-9acd")
    assert register_api(client_for(bob), name="ＰＡＹＲＯＬＬ-bot-9acd").json() == {"name": [TAKEN]}
    response = register_api(client_for(bob), name="ｐａｙｒｏｌｌ-bot-ﬁve")  # ﬁ is a ligature
    assert response.status_code == 201 and response.json()["name"] == "payroll-bot-five"


def test_letters_beyond_ascii_are_compared_without_regard_to_case_too(alice, bob, client_for, make_identity):
    make_identity(alice, name="Überweisungs-Agent")
    assert register_api(client_for(bob), name="überweisungs-agent").json() == {"name": [TAKEN]}
    assert register_api(client_for(bob), name="ÜBERWEISUNGS-AGENT").status_code == 400


def test_renaming_to_another_identitys_name_in_any_case_is_refused(alice, client_for, make_identity):
    make_identity(alice, name="payroll-bot")
    other = make_identity(alice, name="billing-bot")
    response = client_for(alice).patch(
        f"/api/v1/identities/{other.pk}/", json.dumps({"name": "PAYROLL-BOT", "version": other.version}), content_type="application/json"
    )
    assert response.status_code == 400 and response.json() == {"name": [TAKEN]}
    page = client_for(alice).post(
        reverse("inventory:identity-edit", args=[other.pk]),
        {**form_data(name="Payroll-Bot"), "version": other.version},
    )
    assert page.status_code == 400 and f'id="id_name_error"><p>{TAKEN}' in page.content.decode()
    assert AIIdentity.objects.get(pk=other.pk).name == "billing-bot"


def test_an_identity_changes_the_case_of_its_own_name(alice, make_identity):
    identity = make_identity(alice, name="payroll-bot")
    assert identity_update(actor=alice, identity=identity, expected_version=identity.version, name="Payroll-Bot").name == "Payroll-Bot"


def test_an_import_line_with_a_name_in_another_case_is_refused(alice, client_for, make_identity):
    make_identity(alice, name="ticket-bot")
    response = upload(client_for(alice), HEADER + "Ticket-Bot,agent,production,Again.,,,,,,\n")
    assert [(p.line, p.column, p.message) for p in response.context["problems"]] == [(2, "name", TAKEN)]


def test_the_database_refuses_a_case_duplicate_written_around_the_services(alice, make_identity):
    make_identity(alice, name="payroll-bot")
    with pytest.raises(IntegrityError), transaction.atomic():
        AIIdentity.objects.create(name="PAYROLL-bot", kind="agent", environment="production")


def test_the_audit_log_filtered_by_a_name_shows_that_identitys_trail_alone(alice, bob, rita, client_for, make_identity):
    mine = identity_activate(actor=alice, identity=make_identity(alice, name="Payroll-Bot-9acd"))
    register_api(client_for(bob))  # refused: no second trail under that name
    make_identity(bob, name="payroll-bot-9acd-2")

    events = client_for(rita).get(reverse("api:audit-event-list"), {"identity": "PAYROLL-BOT-9ACD"}).json()["results"]

    assert {e["identity_id"] for e in events} == {str(mine.pk)}
    assert [e["action"] for e in events if e["object_type"] == "inventory.aiidentity"] == ["identity.activate", "identity.register"]


@pytest.mark.django_db(transaction=True)
def test_the_migration_renames_later_case_duplicates_and_records_each_rename(capsys):
    """An existing database may hold names that differ only in case; the constraint must not
    fail on it: the later ones are renamed, in the audit log, before it is added."""
    executor = MigrationExecutor(connection)
    before, after = [("inventory", "0016_identity_held_by_security_admin")], [("inventory", "0017_identity_name_unique_any_case")]
    executor.migrate(before)
    try:
        Old = executor.loader.project_state(before).apps.get_model("inventory", "AIIdentity")
        now = timezone.now()
        first = Old.objects.create(name="Payroll-Bot", kind="agent", environment="production", created_at=now.replace(year=2025))
        later = Old.objects.create(name="payroll-bot", kind="agent", environment="production", created_at=now.replace(year=2026, month=1))
        Old.objects.create(name="payroll-bot (2)", kind="agent", environment="production", created_at=now)
        latest = Old.objects.create(name="PAYROLL-BOT", kind="agent", environment="production", created_at=now)

        executor = MigrationExecutor(connection)
        executor.migrate(after)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    # The first registered keeps its name; the next suffix free in any case goes to each later one.
    assert AIIdentity.objects.get(pk=first.pk).name == "Payroll-Bot"
    assert AIIdentity.objects.get(pk=later.pk).name == "payroll-bot (3)"
    assert AIIdentity.objects.get(pk=latest.pk).name == "PAYROLL-BOT (4)"
    assert AIIdentity.objects.get(name="payroll-bot (2)").version == 1
    event = AuditEvent.objects.get(identity_id=later.pk)
    assert (event.action, event.actor_label, event.before, event.after) == (
        "identity.update", "system:migrate", {"name": "payroll-bot"}, {"name": "payroll-bot (3)"},
    )
    assert AIIdentity.objects.get(pk=later.pk).version == 2
    assert AuditEvent.objects.filter(action="identity.update").count() == 2
    call_command("audit_verify")
    assert "Audit chain intact" in capsys.readouterr().out
