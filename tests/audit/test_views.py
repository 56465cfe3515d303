"""The audit log page and its JSON-lines export: for those who read everything."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from inventory.services import identity_owners_set, identity_update
from nhiportal.audit.models import AuditEvent
from nhiportal.audit.selectors import event_changes, known_actions, known_object_types
from nhiportal.audit.services import agent_actor, audit_record
from nhiportal.time_window import INSTANT_NEEDED

LIST = reverse("audit:event-list")
EXPORT = reverse("audit:event-export")


def export_of(response) -> list[dict]:
    return [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]


@pytest.mark.parametrize("persona", ["rita", "carol", "sam"])
def test_it_shows_the_log_to_reviewers_compliance_and_security_admins(persona, request, alice, client_for, make_identity):
    make_identity(alice, name="ticket-summariser")
    response = client_for(request.getfixturevalue(persona)).get(LIST)
    assert response.status_code == 200
    assert b"identity.register" in response.content
    assert b"ticket-summariser" in response.content


def test_it_names_the_identity_of_each_event_in_its_column(alice, rita, client_for, make_identity):
    from inventory.services import identity_update

    identity = make_identity(alice, name="ticket-summariser")
    identity_update(actor=alice, identity=identity, expected_version=1, purpose="Reads tickets.")
    page = client_for(rita).get(LIST).content.decode()
    link = f'<a href="/identities/{identity.pk}/">ticket-summariser</a>'
    assert page.count(link) >= 2  # the registration and the edit at least, by name
    assert f">{str(identity.pk)[:8]}…</a>" not in page  # not the truncated id it showed before


@pytest.mark.parametrize("persona", ["alice", "charlie"])
def test_it_refuses_owners_and_outsiders(persona, request, client_for):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(LIST).status_code == 403
    assert client.get(EXPORT).status_code == 403


def test_it_sends_anonymous_visitors_to_log_in(client):
    assert client.get(LIST).status_code == 302
    assert client.get(EXPORT).status_code == 302


def test_it_filters_by_action_prefix_actor_and_identity(alice, bob, rita, client_for, make_identity):
    mine = make_identity(alice, name="alice-agent", credential=False)
    make_identity(bob, name="bob-agent", credential=False)
    identity_update(actor=alice, identity=mine, expected_version=1, purpose="Changed.")
    client = client_for(rita)
    assert client.get(LIST, {"action": "identity."}).context["page_obj"].paginator.count == 3
    assert [e.action for e in client.get(LIST, {"actor": "alice"}).context["events"]] == ["identity.update", "identity.register"]
    by_identity = client.get(LIST, {"identity": str(mine.pk)}).context["events"]
    assert {e.identity_id for e in by_identity} == {mine.pk}


def test_it_filters_by_object_type_and_request_id(alice, rita, client_for, make_identity):
    make_identity(alice)
    client = client_for(rita)
    assert {e.object_type for e in client.get(LIST, {"object_type": "inventory.aiidentity"}).context["events"]} == {"inventory.aiidentity"}
    request_id = client_for(alice).post(
        reverse("inventory:identity-register"),
        {"name": "traced", "kind": "agent", "purpose": "p", "environment": "staging", "autonomy": "supervised"},
    ).headers["X-Request-ID"]
    [event] = client.get(LIST, {"request_id": request_id}).context["events"]
    assert event.object_repr == "traced"
    # Each row links to every event of its request.
    assert f'href="{LIST}?request_id={request_id}"' in client.get(LIST).content.decode()


def test_the_page_offers_one_date_range_and_still_honours_since_and_until_links(alice, rita, client_for, make_identity):
    make_identity(alice)
    client = client_for(rita)
    html = client.get(LIST).content.decode()
    assert "From" in html and "Since (ISO 8601)" not in html
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    assert client.get(LIST, {"since": later}).context["page_obj"].paginator.count == 0
    refused = client.get(LIST, {"since": "soon"})
    assert refused.status_code == 400 and f"Since (ISO 8601): {INSTANT_NEEDED}" in refused.content.decode()


def test_it_filters_by_date_range(alice, rita, client_for, make_identity):
    make_identity(alice)
    today = timezone.localdate()
    client = client_for(rita)
    assert client.get(LIST, {"date_from": today, "date_to": today}).context["page_obj"].paginator.count > 0
    assert client.get(LIST, {"date_to": today - timedelta(days=1)}).context["page_obj"].paginator.count == 0
    response = client.get(LIST, {"date_from": today + timedelta(days=1)})
    assert b"No events match these filters" in response.content


def test_it_answers_400_with_the_error_for_a_bad_filter(rita, client_for):
    response = client_for(rita).get(LIST, {"identity": "x" * 201, "date_from": "yesterday"})
    assert response.status_code == 400
    assert b"Ensure this value has at most 200 characters" in response.content
    assert b"Enter a valid date." in response.content
    assert client_for(rita).get(EXPORT, {"date_from": "yesterday"}).status_code == 400


def test_an_action_longer_than_any_is_a_filter_error_not_a_database_error(rita, client_for):
    # SQLite refuses a LIKE pattern past 50,000 bytes: an action prefix that long was a 500.
    response = client_for(rita).get(LIST, {"action": "x" * 50_001})
    assert response.status_code == 400 and b"Ensure this value has at most 100 characters" in response.content
    assert set(client_for(rita).get("/api/v1/audit-events/", {"action": "x" * 50_001}).json()) == {"action"}


def test_it_paginates_and_404s_past_the_end(alice, rita, client_for, make_identity, settings):
    settings.NHI = {**settings.NHI, "PAGE_SIZE": 2}
    for _ in range(3):
        make_identity(alice)
    client = client_for(rita)
    count = AuditEvent.objects.count()
    pages = -(-count // 2)
    assert client.get(LIST, {"page": pages}).status_code == 200
    assert client.get(LIST, {"page": pages + 1}).status_code == 404
    assert client.get(LIST, {"page": "x"}).status_code == 404


def test_it_exports_the_filtered_events_with_every_field_oldest_first(alice, bob, carol, client_for, make_identity):
    mine = make_identity(alice, credential=False)
    make_identity(bob, credential=False)
    identity_update(actor=alice, identity=mine, expected_version=1, purpose="Changed.")
    response = client_for(carol).get(EXPORT, {"identity": str(mine.pk)})
    assert response["Content-Type"].startswith("application/x-ndjson")
    assert "attachment" in response["Content-Disposition"]
    records = export_of(response)
    assert [r["action"] for r in records] == ["identity.register", "identity.update"]
    stored = AuditEvent.objects.get(action="identity.update")
    assert records[1]["hash"] == stored.hash
    assert records[1]["prev_hash"] == stored.prev_hash
    assert records[1]["hmac"] == stored.hmac
    assert set(records[1]) >= {
        "id", "at", "actor_id", "actor_label", "action", "object_type", "object_id", "object_repr",
        "identity_id", "before", "after", "reason", "request_id", "prev_hash", "hash", "hmac",
    }  # fmt: skip


def test_the_page_links_to_the_export_with_its_filters(rita, client_for):
    response = client_for(rita).get(LIST, {"action": "identity.", "page": "1"})
    assert f'href="{EXPORT}?action=identity."'.encode() in response.content


def test_it_shows_choice_labels_and_lists_as_people_read_them_while_the_export_keeps_stored_values(sam, alice, bob, client_for, make_identity):
    identity = make_identity(alice, name="ticket-summariser", backups=[bob], sensitivity_ceiling=3)
    identity_update(actor=alice, identity=identity, expected_version=identity.version, sensitivity_ceiling=4, environment="staging")
    client = client_for(sam)
    html = client.get(LIST).content.decode()
    assert "Confidential &rarr; Restricted" in html.replace("→", "&rarr;")
    assert "Production &rarr; Staging" in html.replace("→", "&rarr;")
    detail = client.get(reverse("inventory:identity-detail", args=[identity.pk])).content.decode()
    assert "Confidential &rarr; Restricted" in detail.replace("→", "&rarr;")
    updated = [e for e in export_of(client.get(EXPORT)) if e["action"] == "identity.update"]
    assert updated[0]["before"]["sensitivity_ceiling"] == 3 and updated[0]["after"]["sensitivity_ceiling"] == 4


def test_it_shows_times_to_the_minute_lists_as_lists_mappings_as_pairs_and_flags_as_yes_or_no(sam, alice, client_for, make_identity, settings):
    settings.TIME_ZONE = "UTC"
    identity = make_identity(alice, name="ticket-summariser")
    with transaction.atomic():
        audit_record(
            actor=sam, action="grant.create", obj=identity,
            after={
                "ends_at": "2027-01-13T07:38:15.833Z", "scopes": ["tickets:read", "tickets:write"], "urgent": True,
                "owners": {"alice": "primary", "grace": "backup"},
            },
        )
    changes = {c.field: c.after for c in event_changes(AuditEvent.objects.get(action="grant.create"))}
    assert changes == {
        "ends_at": "2027-01-13 07:38", "scopes": "tickets:read, tickets:write", "urgent": "yes",
        "owners": "alice: primary, grace: backup",
    }
    html = client_for(sam).get(LIST).content.decode()
    assert "2027-01-13 07:38" in html and "tickets:read, tickets:write" in html and "07:38:15.833Z" not in html


def test_a_change_named_like_a_relation_of_the_object_is_shown_as_it_is(sam, alice):
    # "recovery_codes" is both a figure in the event and a reverse relation of the person.
    with transaction.atomic():
        audit_record(actor=alice, action="person.second_factor_enrolled", obj=alice, object_repr="alice", after={"recovery_codes": 10})
    [change] = event_changes(AuditEvent.objects.get(action="person.second_factor_enrolled"))
    assert (change.field, change.after) == ("recovery_codes", 10)


def test_it_shows_object_types_and_actions_as_people_read_them_with_their_codes_as_tooltips(alice, rita, client_for, make_identity):
    make_identity(alice, name="ticket-summariser")
    html = client_for(rita).get(LIST).content.decode()
    assert '<div class="muted" title="inventory.aiidentity">Identity</div>' in html
    assert '<span title="identity.register">Identity: register</span>' in html
    assert ">inventory.aiidentity<" not in html and "<code>identity.register</code>" not in html


def test_an_agent_acting_is_named_by_its_identity_with_its_client_id_as_a_tooltip(alice, rita, client_for, make_identity):
    identity = make_identity(alice, name="ticket-summariser")
    with transaction.atomic():
        audit_record(actor=agent_actor(str(identity.pk)), action="identity.first_network", obj=identity, after={"network": "10.1.2.0/24"})
    html = client_for(rita).get(LIST, {"action": "identity.first_network"}).content.decode()
    assert f'<span title="agent:{identity.pk}">agent ticket-summariser</span>' in html
    assert "Identity: first network seen" in html


def owners_changed(alice, bob, make_identity):
    identity = make_identity(alice, name="ticket-summariser", credential=False)
    identity_owners_set(actor=alice, identity=identity, primary_owner=alice, backup_owners=[bob], reason="Cover for holidays")
    return identity


@pytest.mark.parametrize("typed", ["owners", "OWNERS", "owners changed", "identity.owners_set", "y.owners"])
def test_the_action_filter_finds_part_of_a_code_or_of_its_label(typed, alice, bob, rita, client_for, make_identity):
    owners_changed(alice, bob, make_identity)
    events = client_for(rita).get(LIST, {"action": typed}).context["events"]
    assert [e.action for e in events] == ["identity.owners_set"]


def test_the_action_filter_still_takes_a_prefix_and_finds_nothing_for_what_no_action_holds(alice, bob, rita, client_for, make_identity):
    owners_changed(alice, bob, make_identity)
    client = client_for(rita)
    assert {e.action for e in client.get(LIST, {"action": "identity."}).context["events"]} == {"identity.register", "identity.owners_set"}
    assert client.get(LIST, {"action": "nothing-like-it"}).context["page_obj"].paginator.count == 0


def test_the_object_type_filter_takes_its_label_too(alice, bob, sam, rita, client_for, make_identity):
    owners_changed(alice, bob, make_identity)
    with transaction.atomic():
        audit_record(actor=sam, action="service.create", object_type="tokens.service", object_id="1", object_repr="CRM")
    client = client_for(rita)
    assert {e.object_type for e in client.get(LIST, {"object_type": "identity"}).context["events"]} == {"inventory.aiidentity"}
    assert {e.object_type for e in client.get(LIST, {"object_type": "tokens.service"}).context["events"]} == {"tokens.service"}


def test_the_filters_offer_the_actions_and_object_types_the_log_holds(alice, bob, rita, client_for, make_identity):
    owners_changed(alice, bob, make_identity)
    html = client_for(rita).get(LIST).content.decode()
    assert 'list="audit-actions"' in html and 'list="audit-object-types"' in html
    actions = html.split('<datalist id="audit-actions">', 1)[1].split("</datalist>", 1)[0]
    assert actions.count("<option ") == len(set(AuditEvent.objects.values_list("action", flat=True)))
    assert (
        '<option value="identity.owners_set">Identity: owners changed</option>'
        '<option value="identity.register">Identity: register</option>'
    ) in actions
    assert '<option value="inventory.aiidentity">Identity</option>' in html


def test_the_page_knows_every_action_and_object_type_the_log_holds(alice, bob, sam, make_identity):
    owners_changed(alice, bob, make_identity)
    with transaction.atomic():
        audit_record(actor=sam, action="service.create", object_type="tokens.service", object_id="1", object_repr="CRM")
    # Each once, in the database's order (its collation's, on PostgreSQL).
    for known, column in ((known_actions(), "action"), (known_object_types(), "object_type")):
        assert len(known) == len(set(known)) and set(known) == set(AuditEvent.objects.values_list(column, flat=True))
    assert {"inventory.aiidentity", "tokens.service"} <= set(known_object_types())


def test_the_export_follows_the_pages_filter_and_keeps_the_codes_while_the_api_keeps_its_prefix(alice, bob, carol, client_for, make_identity):
    identity = owners_changed(alice, bob, make_identity)
    client = client_for(carol)
    [record] = export_of(client.get(EXPORT, {"action": "owners"}))
    assert (record["action"], record["object_type"], record["actor_label"]) == ("identity.owners_set", "inventory.aiidentity", "alice")
    assert record["object_id"] == str(identity.pk)
    assert client.get("/api/v1/audit-events/", {"action": "owners"}).json()["count"] == 0
    assert client.get("/api/v1/audit-events/", {"action": "identity.owners"}).json()["count"] == 1
