"""Attestation campaigns through the API: who launches and closes, who sees what, how owners answer, 4xx with reasons."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inventory.campaigns import campaign_launch
from inventory.models import Campaign, CampaignItem, Environment
from inventory.services import identity_activate, identity_attest
from nhiportal.audit.models import AuditEvent

LIST = "/api/v1/campaigns/"
ASK = "Check that its scopes still match its purpose."


def in_days(n):
    return timezone.localdate() + timedelta(days=n)


def api(client_for, user):
    client = client_for(user)

    def call(method, url, data=None):
        return getattr(client, method)(f"{LIST}{url}", data, content_type="application/json")

    return call


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def names(response):
    assert response.status_code == 200, response.content
    return [row["identity_name"] for row in response.json()["results"]]


@pytest.fixture
def fleet(make_identity, alice, bob):
    """alice's two production agents, bob's production and staging ones, and a registered one (never asked)."""
    identities = {
        "crm": make_identity(alice, name="crm-bot"),
        "ledger": make_identity(alice, name="ledger-bot"),
        "payroll": make_identity(bob, name="payroll-bot"),
        "stage": make_identity(bob, name="stage-bot", environment=Environment.STAGING),
        "draft": make_identity(alice, name="draft-bot"),
    }
    for key, owner in (("crm", alice), ("ledger", alice), ("payroll", bob), ("stage", bob)):
        identities[key] = identity_activate(actor=owner, identity=identities[key])
    return identities


@pytest.fixture
def launched(client_for, rita, fleet):
    created = api(client_for, rita)(
        "post", "", {"name": "Q4 production", "due": in_days(10).isoformat(), "environment": "production", "instructions": ASK}
    )
    assert created.status_code == 201, created.content
    return created.json()


def test_a_reviewer_launches_a_campaign_and_reads_its_progress(client_for, rita, launched, fleet):
    assert launched["name"] == "Q4 production" and launched["due"] == in_days(10).isoformat()
    assert launched["environment"] == "production" and launched["kind"] == "" and launched["instructions"] == ASK
    assert launched["open"] is True and launched["launched_by"] == "rita" and launched["closed_at"] is None
    assert launched["announced_at"] is None and launched["owners_told"] == 0
    assert launched["total"] == 3 and launched["attested"] == 0
    assert launched["progress"] == {"total": 3, "attested": 0, "waiting": 3, "without_owner": 0}
    # The launch went through the service: one audit event, due dates brought forward.
    assert AuditEvent.objects.filter(action="campaign.launch", object_id=str(launched["id"]), actor=rita).count() == 1
    fleet["crm"].refresh_from_db()
    assert fleet["crm"].attestation_due == in_days(10)

    call = api(client_for, rita)
    assert ids(call("get", "")) == [launched["id"]]
    listed = call("get", "").json()["results"][0]
    assert listed["total"] == 3 and listed["attested"] == 0 and "progress" not in listed
    assert call("get", f"{launched['id']}/").json() == launched
    assert names(call("get", f"{launched['id']}/items/")) == ["crm-bot", "ledger-bot", "payroll-bot"]


def test_an_owners_attestation_through_the_api_answers_the_item(client_for, alice, rita, launched, fleet):
    pk = launched["id"]
    attested = client_for(alice).post(
        reverse("api:identity-attest", args=[fleet["crm"].pk]), {"reason": "Still drafts replies; scopes right."},
        content_type="application/json",
    )
    assert attested.status_code == 200, attested.content

    call = api(client_for, rita)
    assert call("get", f"{pk}/").json()["progress"] == {"total": 3, "attested": 1, "waiting": 2, "without_owner": 0}
    assert call("get", "").json()["results"][0]["attested"] == 1
    (item,) = call("get", f"{pk}/items/?state=attested").json()["results"]
    assert item["identity"] == str(fleet["crm"].pk) and item["identity_name"] == "crm-bot"
    assert item["environment"] == "production" and item["kind"] == fleet["crm"].kind
    assert item["primary_owner"] == "alice" and item["has_active_owner"] is True
    assert item["attested"] is True and item["attested_by"] == "alice" and item["note"] == "Still drafts replies; scopes right."
    assert item["attested_at"] is not None
    waiting = call("get", f"{pk}/items/?state=waiting").json()["results"]
    assert [row["identity_name"] for row in waiting] == ["ledger-bot", "payroll-bot"]
    assert all(row["attested"] is False and row["attested_at"] is None and row["attested_by"] is None and row["note"] == "" for row in waiting)
    assert names(call("get", f"{pk}/items/?state=all")) == ["crm-bot", "ledger-bot", "payroll-bot"]
    unknown = call("get", f"{pk}/items/?state=maybe")
    assert unknown.status_code == 400 and "state" in unknown.json()


def test_a_reviewer_closes_a_campaign_once(client_for, alice, rita, sam, launched, fleet):
    pk = launched["id"]
    identity_attest(actor=alice, identity=fleet["crm"])
    closed = api(client_for, sam)("post", f"{pk}/close/")
    assert closed.status_code == 200, closed.content
    body = closed.json()
    assert body["open"] is False and body["closed_by"] == "sam" and body["closed_at"] is not None
    assert body["progress"] == {"total": 3, "attested": 1, "waiting": 2, "without_owner": 0}
    assert AuditEvent.objects.get(action="campaign.close", object_id=str(pk)).after == {"identities": 3, "attested": 1, "missed": 2}

    again = api(client_for, rita)("post", f"{pk}/close/")
    assert again.status_code == 409 and "already closed" in again.json()["detail"]
    assert AuditEvent.objects.filter(action="campaign.close").count() == 1
    # A closed campaign is answered no more: what was missed stays missed.
    identity_attest(actor=alice, identity=fleet["ledger"])
    assert api(client_for, rita)("get", f"{pk}/").json()["progress"]["attested"] == 1


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"name": None}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"due": None}, "due"),
        ({"due": "next week"}, "due"),
        ({"due": "today"}, "due"),
        ({"due": 400}, "due"),
        ({"environment": "moon"}, "environment"),
        ({"environment": "development"}, "environment"),  # nothing active there to ask about
        ({"kind": "robot"}, "kind"),
    ],
)
def test_bad_input_is_refused_with_the_reason_keyed_by_field(client_for, rita, fleet, changes, field):
    data = {"name": "Q4", "due": 10, "environment": "production"} | changes
    if data["due"] == "today":
        data["due"] = timezone.localdate().isoformat()
    elif isinstance(data["due"], int):
        data["due"] = in_days(data["due"]).isoformat()
    refused = api(client_for, rita)("post", "", {key: value for key, value in data.items() if value is not None})
    assert refused.status_code == 400, refused.content
    assert field in refused.json()
    assert not Campaign.objects.exists() and not AuditEvent.objects.filter(action="campaign.launch").exists()


def test_an_outsider_sees_nothing_launches_nothing_closes_nothing(client_for, charlie, launched, fleet):
    pk = launched["id"]
    call = api(client_for, charlie)
    assert ids(call("get", "")) == []
    assert call("get", f"{pk}/").status_code == 404
    assert call("get", f"{pk}/items/").status_code == 404
    assert call("post", f"{pk}/close/").status_code == 404
    refused = call("post", "", {"name": "Mine", "due": in_days(5).isoformat()})
    assert refused.status_code == 403 and "Reviewers and security admins" in refused.json()["detail"]
    assert call("post", "", {}).status_code == 403  # who may launch is answered before the fields
    assert Campaign.objects.count() == 1 and Campaign.objects.get().is_open


def test_an_owner_sees_the_campaigns_asking_about_his_identities_and_only_their_items(client_for, alice, bob, rita, launched, fleet):
    pk = launched["id"]
    staging = campaign_launch(actor=rita, name="Staging", due=in_days(20), environment=Environment.STAGING)
    everyone = api(client_for, rita)
    assert ids(everyone("get", "")) == [staging.pk, pk]  # newest first

    # alice owns nothing in staging: she sees the production campaign only, and of it her two identities.
    as_alice = api(client_for, alice)
    assert ids(as_alice("get", "")) == [pk]
    assert as_alice("get", f"{staging.pk}/").status_code == 404
    assert as_alice("get", f"{staging.pk}/items/").status_code == 404
    assert names(as_alice("get", f"{pk}/items/")) == ["crm-bot", "ledger-bot"]
    # The counts are over what she may see, as on the page: she learns nothing of bob's identities.
    assert as_alice("get", f"{pk}/").json()["progress"]["total"] == 2
    assert as_alice("get", "").json()["results"][0]["total"] == 2
    # bob is asked in both, about his own identities only.
    as_bob = api(client_for, bob)
    assert ids(as_bob("get", "")) == [staging.pk, pk]
    assert names(as_bob("get", f"{pk}/items/")) == ["payroll-bot"]
    assert names(as_bob("get", f"{staging.pk}/items/")) == ["stage-bot"]
    # Owners run no campaigns.
    assert as_alice("post", "", {"name": "Mine", "due": in_days(5).isoformat()}).status_code == 403
    assert as_bob("post", f"{pk}/close/").status_code == 403
    assert Campaign.objects.filter(closed_at__isnull=True).count() == 2


def test_compliance_reads_every_campaign_but_neither_launches_nor_closes(client_for, carol, alice, launched, fleet):
    pk = launched["id"]
    identity_attest(actor=alice, identity=fleet["ledger"], note="Reconciles nightly.")
    call = api(client_for, carol)
    assert ids(call("get", "")) == [pk]
    assert call("get", f"{pk}/").json()["progress"]["attested"] == 1
    assert names(call("get", f"{pk}/items/")) == ["crm-bot", "ledger-bot", "payroll-bot"]
    assert names(call("get", f"{pk}/items/?state=attested")) == ["ledger-bot"]
    assert call("post", "", {"name": "Compliance's", "due": in_days(5).isoformat()}).status_code == 403
    assert call("post", f"{pk}/close/").status_code == 403
    assert Campaign.objects.count() == 1 and Campaign.objects.get().is_open


def test_an_anonymous_client_is_refused(db, rita, fleet):
    campaign = campaign_launch(actor=rita, name="Q4", due=in_days(10))
    client = Client()
    assert client.get(LIST).status_code == 401
    assert client.get(f"{LIST}{campaign.pk}/").status_code == 401
    assert client.get(f"{LIST}{campaign.pk}/items/").status_code == 401
    assert client.post(f"{LIST}{campaign.pk}/close/").status_code == 401
    assert client.post(LIST, {"name": "Q4", "due": in_days(5).isoformat()}, content_type="application/json").status_code == 401
    assert Campaign.objects.count() == 1 and Campaign.objects.get().is_open


def test_an_identity_left_without_owners_counts_as_waiting_without_owner(client_for, alice, rita, launched, fleet):
    alice.is_active = False  # alice left: her identities have nobody to answer
    alice.save(update_fields=["is_active"])
    call = api(client_for, rita)
    assert call("get", f"{launched['id']}/").json()["progress"] == {"total": 3, "attested": 0, "waiting": 3, "without_owner": 2}
    rows = {row["identity_name"]: row["has_active_owner"] for row in call("get", f"{launched['id']}/items/").json()["results"]}
    assert rows == {"crm-bot": False, "ledger-bot": False, "payroll-bot": True}
    assert CampaignItem.objects.filter(attestation__isnull=True).count() == 3


def test_the_schema_lists_the_campaign_routes(db, client):
    schema = json.loads(client.get(reverse("api-schema"), {"format": "json"}).content)
    for route, methods in {
        "/api/v1/campaigns/": {"get", "post"},
        "/api/v1/campaigns/{id}/": {"get"},
        "/api/v1/campaigns/{id}/items/": {"get"},
        "/api/v1/campaigns/{id}/close/": {"post"},
    }.items():
        assert methods <= set(schema["paths"][route]), route
    detail = schema["paths"]["/api/v1/campaigns/{id}/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert detail["$ref"].endswith("/CampaignDetail")
    assert set(schema["components"]["schemas"]["CampaignProgress"]["properties"]) == {"total", "attested", "waiting", "without_owner"}
