"""The identities API: listing, reading, registering and editing, through the real URLs."""

import uuid

import pytest
from django.urls import reverse

from inventory.models import AIIdentity, Status
from inventory.services import identity_activate
from nhiportal.audit.models import AuditEvent

LIST = reverse("api:identity-list")


def detail(identity):
    return reverse("api:identity-detail", args=[identity.pk])


def names(response):
    return sorted(row["name"] for row in response.json()["results"])


def test_it_lists_only_the_identities_an_owner_owns(alice, bob, client_for, make_identity):
    make_identity(alice, name="invoice-triage-agent")
    make_identity(bob, name="support-copilot")
    response = client_for(alice).get(LIST)
    assert response.status_code == 200
    assert names(response) == ["invoice-triage-agent"]


def test_it_lists_everything_for_reviewers_and_compliance(alice, bob, rita, carol, client_for, make_identity):
    make_identity(alice, name="a-one")
    make_identity(bob, name="b-one")
    for person in (rita, carol):
        assert names(client_for(person).get(LIST)) == ["a-one", "b-one"]


def test_it_lists_nothing_for_an_outsider(alice, charlie, client_for, make_identity):
    make_identity(alice)
    response = client_for(charlie).get(LIST)
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_it_refuses_anonymous_callers(db, client):
    assert client.get(LIST).status_code == 401


def test_it_shows_explicit_fields_with_owners_and_flags(alice, bob, client_for, make_identity):
    identity = make_identity(alice, backups=[bob], name="github-mcp-server")
    body = client_for(alice).get(detail(identity)).json()
    assert body["id"] == str(identity.pk)
    assert body["status"] == "registered"
    assert body["owners"][0]["username"] == "alice" and body["owners"][0]["role"] == "primary"
    assert [o["username"] for o in body["owners"]] == ["alice", "bob"]
    assert body["orphaned"] is False
    assert body["attestation_overdue"] is False
    assert body["allowed_actions"] == ["activate", "offboard"]
    assert set(body) == {
        "id", "name", "kind", "purpose", "environment", "trust_boundary", "autonomy", "sensitivity_ceiling",
        "offboarding_plan", "allowed_networks", "status", "status_reason", "status_changed_at", "attestation_interval_days",
        "token_rate_per_minute", "token_rate_limit", "attestation_due", "last_attested_at", "attestation_overdue", "orphaned", "owners", "allowed_actions",
        "attestation_review", "created_at", "updated_at", "version", "risk_score", "risk_level", "risk_factors",
    }


def test_it_hides_an_identity_from_an_outsider_with_a_404(alice, charlie, client_for, make_identity):
    identity = make_identity(alice, name="secret-project-agent")
    response = client_for(charlie).get(detail(identity))
    assert response.status_code == 404
    assert "secret-project" not in response.content.decode()


def test_it_answers_404_for_an_unknown_or_malformed_id(alice, client_for):
    api = client_for(alice)
    assert api.get(reverse("api:identity-detail", args=[uuid.uuid4()])).status_code == 404
    assert api.get(LIST + "not-a-uuid/").status_code == 404


def test_it_filters_like_the_inventory_page(alice, client_for, make_identity):
    make_identity(alice, name="nightly-etl-loader", kind="pipeline")
    make_identity(alice, name="support-copilot", kind="assistant", purpose="Drafts replies to customers")
    api = client_for(alice)
    assert names(api.get(LIST, {"kind": "pipeline"})) == ["nightly-etl-loader"]
    assert names(api.get(LIST, {"q": "customers"})) == ["support-copilot"]
    assert names(api.get(LIST, {"owner": "alice", "sort": "-name"})) == ["nightly-etl-loader", "support-copilot"]


def test_it_explains_an_unknown_filter_value_with_a_400(alice, client_for):
    response = client_for(alice).get(LIST, {"status": "sleeping"})
    assert response.status_code == 400
    assert "status" in response.json()


def test_it_answers_400_on_page_for_a_page_past_the_end(alice, client_for, make_identity):
    make_identity(alice)
    api = client_for(alice)
    assert api.get(LIST, {"page": 9}).status_code == 400 and list(api.get(LIST, {"page": 9}).json()) == ["page"]
    assert api.get(LIST, {"page": "x"}).status_code == 400


def test_it_paginates_by_fifty(alice, client_for, make_identity):
    for n in range(51):
        make_identity(alice, name=f"agent-{n:02}")
    body = client_for(alice).get(LIST).json()
    assert body["count"] == 51 and len(body["results"]) == 50 and body["next"]


def test_it_flags_orphaned_and_overdue_identities(alice, bob, client_for, make_identity, sam):
    identity = make_identity(bob)
    identity_activate(actor=bob, identity=identity)
    AIIdentity.objects.filter(pk=identity.pk).update(attestation_due="2020-01-01")
    bob.is_active = False
    bob.save()
    body = client_for(sam).get(detail(identity)).json()
    assert body["orphaned"] is True and body["attestation_overdue"] is True
    assert client_for(sam).get(LIST, {"orphaned": "true"}).json()["count"] == 1


def register_body(**overrides):
    body = {
        "name": "invoice-triage-agent",
        "kind": "agent",
        "environment": "production",
        "purpose": "Routes incoming invoices to the right approver.",
        "trust_boundary": "corp-internal",
        "sensitivity_ceiling": 3,
        "offboarding_plan": "Disable its key and archive the queue.",
    }
    body.update(overrides)
    return body


def test_it_registers_an_identity_owned_by_the_caller(alice, bob, client_for):
    response = client_for(alice).post(LIST, register_body(backup_owners=["bob"]), content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "registered"
    assert [(o["username"], o["role"]) for o in body["owners"]] == [("alice", "primary"), ("bob", "backup")]
    assert AuditEvent.objects.filter(action="identity.register", identity_id=body["id"]).count() == 1


def test_it_lets_a_security_admin_register_for_someone_else(sam, bob, client_for):
    response = client_for(sam).post(LIST, register_body(primary_owner="bob"), content_type="application/json")
    assert response.status_code == 201
    assert response.json()["owners"][0]["username"] == "bob"


def test_it_refuses_an_owner_registering_something_they_would_not_own(alice, bob, client_for):
    response = client_for(alice).post(LIST, register_body(primary_owner="bob"), content_type="application/json")
    assert response.status_code == 400
    assert "primary_owner" in response.json()
    assert not AIIdentity.objects.exists()


@pytest.mark.parametrize("persona", ["rita", "carol", "charlie"])
def test_it_refuses_registration_to_people_without_the_owner_role(persona, request, client_for):
    response = client_for(request.getfixturevalue(persona)).post(LIST, register_body(), content_type="application/json")
    assert response.status_code == 403
    assert not AIIdentity.objects.exists()


def test_it_explains_invalid_registration_fields(alice, client_for, make_identity):
    make_identity(alice, name="taken")
    api = client_for(alice)
    response = api.post(LIST, register_body(name="taken", kind="robot", backup_owners=["nobody"]), content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == {"kind", "backup_owners"}
    response = api.post(LIST, register_body(name="taken"), content_type="application/json")
    assert response.status_code == 400
    assert "name" in response.json()


def test_it_updates_an_identity_at_the_version_read(alice, client_for, make_identity):
    identity = make_identity(alice)
    api = client_for(alice)
    response = api.patch(detail(identity), {"purpose": "Now triages refunds too.", "version": 1}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["purpose"] == "Now triages refunds too."
    assert response.json()["version"] == 2


def test_it_refuses_a_stale_update_with_a_409(alice, client_for, make_identity):
    identity = make_identity(alice)
    api = client_for(alice)
    api.patch(detail(identity), {"purpose": "First edit.", "version": 1}, content_type="application/json")
    response = api.patch(detail(identity), {"purpose": "Second edit.", "version": 1}, content_type="application/json")
    assert response.status_code == 409
    assert "changed since you loaded it" in response.json()["detail"]
    identity.refresh_from_db()
    assert identity.purpose == "First edit."


def test_it_requires_a_version_to_update(alice, client_for, make_identity):
    identity = make_identity(alice)
    response = client_for(alice).patch(detail(identity), {"purpose": "x"}, content_type="application/json")
    assert response.status_code == 400
    assert "version" in response.json()


def test_it_replaces_the_description_with_put(alice, client_for, make_identity):
    identity = make_identity(alice, name="old-name")
    body = register_body(name="new-name", environment="staging", version=1)
    response = client_for(alice).put(detail(identity), body, content_type="application/json")
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["environment"]) == ("new-name", "staging")
    response = client_for(alice).put(detail(identity), {"version": 2}, content_type="application/json")
    assert response.status_code == 400
    assert {"name", "kind", "environment"} <= set(response.json())


def test_it_refuses_writes_to_read_only_roles_with_a_403(alice, rita, carol, client_for, make_identity):
    identity = make_identity(alice)
    for person in (rita, carol):
        response = client_for(person).patch(detail(identity), {"purpose": "x", "version": 1}, content_type="application/json")
        assert response.status_code == 403
    identity.refresh_from_db()
    assert identity.version == 1


def test_it_hides_writes_from_an_outsider_with_a_404(alice, charlie, client_for, make_identity):
    identity = make_identity(alice)
    response = client_for(charlie).patch(detail(identity), {"purpose": "x", "version": 1}, content_type="application/json")
    assert response.status_code == 404


def test_it_refuses_to_edit_an_offboarded_identity(alice, client_for, make_identity):
    identity = make_identity(alice)
    api = client_for(alice)
    api.post(reverse("api:identity-offboard", args=[identity.pk]), {"reason": "Retired"}, content_type="application/json")
    response = api.patch(detail(identity), {"purpose": "x", "version": 2}, content_type="application/json")
    assert response.status_code == 409
    assert AIIdentity.objects.get(pk=identity.pk).status == Status.OFFBOARDED


def test_it_does_not_allow_delete(alice, client_for, make_identity):
    identity = make_identity(alice)
    assert client_for(alice).delete(detail(identity)).status_code == 405


def test_it_leaves_the_attestation_interval_to_security_admins(alice, sam, client_for, make_identity):
    refused = client_for(alice).post(LIST, register_body(attestation_interval_days=365), content_type="application/json")
    assert refused.status_code == 400
    assert "attestation_interval_days" in refused.json()
    identity = make_identity(alice)
    echoed = {"attestation_interval_days": identity.attestation_interval_days, "version": 1}
    assert client_for(alice).patch(detail(identity), echoed, content_type="application/json").status_code == 200
    response = client_for(sam).patch(detail(identity), {"attestation_interval_days": 30, "version": 1}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["attestation_interval_days"] == 30


def test_it_leaves_the_token_rate_limit_to_security_admins(alice, sam, client_for, make_identity, settings):
    settings.NHI = {**settings.NHI, "TOKEN_RATE_PER_MINUTE": 600}
    refused = client_for(alice).post(LIST, register_body(token_rate_per_minute=100_000), content_type="application/json")
    assert refused.status_code == 400 and refused.json()["token_rate_per_minute"] == ["Only security admins change the token rate limit."]
    identity = make_identity(alice)
    shown = client_for(alice).get(detail(identity)).json()
    assert shown["token_rate_per_minute"] is None and shown["token_rate_limit"] == 600
    raised = client_for(alice).patch(detail(identity), {"token_rate_per_minute": 1000, "version": 1}, content_type="application/json")
    assert raised.status_code == 400
    response = client_for(sam).patch(detail(identity), {"token_rate_per_minute": 1000, "version": 1}, content_type="application/json")
    assert response.status_code == 200 and response.json()["token_rate_limit"] == 1000
    too_many = client_for(sam).patch(detail(identity), {"token_rate_per_minute": 2_000_000, "version": 2}, content_type="application/json")
    assert too_many.status_code == 400 and "token_rate_per_minute" in too_many.json()
    back = client_for(sam).patch(detail(identity), {"token_rate_per_minute": None, "version": 2}, content_type="application/json")
    assert back.status_code == 200 and back.json()["token_rate_limit"] == 600


def test_it_requires_a_purpose(alice, client_for, make_identity):
    assert client_for(alice).post(LIST, register_body(purpose=""), content_type="application/json").status_code == 400
    identity = make_identity(alice)
    response = client_for(alice).patch(detail(identity), {"purpose": " ", "version": 1}, content_type="application/json")
    assert response.status_code == 400
    assert "purpose" in response.json()


def test_it_registers_with_the_portal_default_interval(alice, client_for, settings):
    settings.NHI = {**settings.NHI, "ATTESTATION_INTERVAL_DAYS": 30}
    body = register_body(attestation_interval_days=30)
    response = client_for(alice).post(LIST, body, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["attestation_interval_days"] == 30


def test_it_refuses_a_yes_no_filter_that_is_neither(client_for, sam):
    response = client_for(sam).get(reverse("api:identity-list"), {"orphaned": "maybe"})
    assert response.status_code == 400
    assert "orphaned" in response.json()
