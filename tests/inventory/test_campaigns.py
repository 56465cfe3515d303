"""Attestation campaigns: many owners asked at once, answered by their ordinary attestation."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from inventory.attestation_reviews import attestation_confirm
from inventory.campaigns import campaign_close, campaign_launch
from inventory.models import Campaign, CampaignItem, Environment
from inventory.selectors import attestations_asked_of
from inventory.services import identity_activate, identity_attest, identity_offboard
from nhiportal.audit.models import AuditEvent


def in_days(n):
    return timezone.localdate() + timedelta(days=n)


@pytest.fixture
def fleet(make_identity, alice, bob):
    """alice's two production agents, bob's staging one, and a registered one (not asked)."""
    identities = {
        "crm": make_identity(alice, name="crm-bot"),
        "ledger": make_identity(alice, name="ledger-bot"),
        "stage": make_identity(bob, name="stage-bot", environment=Environment.STAGING),
        "draft": make_identity(alice, name="draft-bot"),
    }
    for key in ("crm", "ledger", "stage"):
        identities[key] = identity_activate(actor=alice if key != "stage" else bob, identity=identities[key])
    return identities


@pytest.fixture
def campaign(rita, fleet):
    return campaign_launch(actor=rita, name="Q4 production", due=in_days(10), environment=Environment.PRODUCTION)


def test_a_launch_asks_the_active_identities_in_scope_and_brings_their_due_date_forward(campaign, fleet):
    asked = set(campaign.items.values_list("identity__name", flat=True))
    assert asked == {"crm-bot", "ledger-bot"}  # staging is out of scope, registered is not attested
    fleet["crm"].refresh_from_db()
    assert fleet["crm"].attestation_due == in_days(10)
    event = AuditEvent.objects.get(action="campaign.launch")
    assert event.after["identities"] == 2 and event.after["due_dates_moved"] == 2


def test_a_due_date_already_sooner_stays(rita, fleet):
    crm = fleet["crm"]
    crm.attestation_due = in_days(3)
    crm.save(update_fields=["attestation_due"])
    campaign_launch(actor=rita, name="Everything", due=in_days(30))
    crm.refresh_from_db()
    assert crm.attestation_due == in_days(3)


def test_an_owners_attestation_answers_the_open_campaigns(campaign, fleet, alice):
    attestation = identity_attest(actor=alice, identity=fleet["crm"], note="Still drafts replies; scopes right.")
    item = campaign.items.get(identity=fleet["crm"])
    assert item.attestation == attestation
    assert campaign.items.filter(attestation__isnull=True).count() == 1
    assert AuditEvent.objects.filter(action="identity.attest").latest("id").after["campaign_items_answered"] == 1


def test_an_attestation_before_the_launch_does_not_count(rita, fleet, alice):
    identity_attest(actor=alice, identity=fleet["crm"])
    campaign = campaign_launch(actor=rita, name="After", due=in_days(5))
    assert not campaign.items.filter(attestation__isnull=False).exists()


def test_a_closed_campaign_is_no_longer_answered_and_records_what_was_missed(campaign, fleet, rita, alice):
    identity_attest(actor=alice, identity=fleet["crm"])
    campaign = campaign_close(actor=rita, campaign=campaign)
    assert not campaign.is_open and campaign.closed_by_label == "rita"
    assert AuditEvent.objects.get(action="campaign.close").after == {"identities": 2, "attested": 1, "missed": 1}
    identity_attest(actor=alice, identity=fleet["ledger"])
    assert campaign.items.get(identity=fleet["ledger"]).attestation is None
    with pytest.raises(ValidationError):
        campaign_close(actor=rita, campaign=campaign)


@pytest.mark.parametrize(
    "change, field",
    [({"name": " "}, "name"), ({"due": 0}, "due"), ({"due": 400}, "due"), ({"environment": Environment.DEVELOPMENT}, "environment")],
)
def test_bad_launches_are_refused_by_field_and_write_nothing(rita, fleet, change, field):
    kwargs = {"name": "Q4", "due": 10, **change}
    kwargs["due"] = in_days(kwargs["due"])
    with pytest.raises(ValidationError) as refused:
        campaign_launch(actor=rita, **kwargs)
    assert field in refused.value.message_dict
    assert not Campaign.objects.exists() and not AuditEvent.objects.filter(action="campaign.launch").exists()


def test_only_reviewers_and_security_admins_run_campaigns(fleet, alice, carol, charlie, sam, campaign):
    for person in (alice, carol, charlie):
        with pytest.raises(PermissionDenied):
            campaign_launch(actor=person, name="Mine", due=in_days(5))
        with pytest.raises(PermissionDenied):
            campaign_close(actor=person, campaign=campaign)
    assert campaign_launch(actor=sam, name="Security's", due=in_days(5)).items.count() == 3


def test_offboarding_keeps_the_item_on_record_but_no_longer_asks_the_owner(campaign, fleet, alice):
    identity_offboard(actor=alice, identity=fleet["ledger"], reason="retired")
    assert CampaignItem.objects.filter(campaign=campaign, identity=fleet["ledger"], attestation__isnull=True).exists()
    assert [item.identity for item in attestations_asked_of(alice)] == [fleet["crm"]]


# The pages


def test_a_reviewer_launches_in_the_browser_and_sees_the_progress(client_for, rita, fleet):
    response = client_for(rita).post("/campaigns/new/", {"name": "Q4", "due": in_days(7).isoformat(), "environment": "", "kind": ""})
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{campaign.pk}/"
    page = client_for(rita).get(response["Location"]).content.decode()
    assert "0% attested" in page and "crm-bot" in page and "stage-bot" in page and "<svg" in page


def test_the_launch_form_shows_errors_next_to_the_fields(client_for, rita, fleet):
    response = client_for(rita).post("/campaigns/new/", {"name": "", "due": timezone.localdate().isoformat()})
    body = response.content.decode()
    assert response.status_code == 400 and "This field is required." in body
    response = client_for(rita).post("/campaigns/new/", {"name": "Q4", "due": timezone.localdate().isoformat()})
    assert response.status_code == 400 and "Choose a date after today." in response.content.decode()
    assert not Campaign.objects.exists()


def test_an_owner_sees_what_is_asked_of_them_and_only_their_identities(client_for, campaign, alice, bob, fleet):
    listing = client_for(alice).get("/campaigns/").content.decode()
    assert "Asked of you" in listing and "crm-bot" in listing and campaign.name in listing
    page = client_for(alice).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "crm-bot" in page and "ledger-bot" in page
    identity_page = client_for(alice).get(f"/identities/{fleet['crm'].pk}/").content.decode()
    assert f"The campaign <a href=\"/campaigns/{campaign.pk}/\">Q4 production</a> asks you" in identity_page
    dashboard = client_for(alice).get("/").content.decode()
    assert f'<a href="/campaigns/{campaign.pk}/">Q4 production</a> asks you to attest 2 identities' in dashboard
    # bob owns nothing in it: the campaign is not his to see
    assert client_for(bob).get(f"/campaigns/{campaign.pk}/").status_code == 404
    assert campaign.name not in client_for(bob).get("/campaigns/").content.decode()


def test_outsiders_learn_nothing_and_cannot_launch_or_close(client_for, campaign, charlie, alice, carol):
    outsider = client_for(charlie)
    assert outsider.get(f"/campaigns/{campaign.pk}/").status_code == 404
    assert outsider.get(f"/campaigns/{campaign.pk}/export.csv").status_code == 404
    assert outsider.post(f"/campaigns/{campaign.pk}/close/").status_code == 404
    assert outsider.get("/campaigns/new/").status_code == 403
    assert "No campaigns yet" in outsider.get("/campaigns/").content.decode()
    for person in (alice, carol):
        assert client_for(person).get("/campaigns/new/").status_code == 403
        assert client_for(person).post(f"/campaigns/{campaign.pk}/close/").status_code == 403
    campaign.refresh_from_db()
    assert campaign.is_open


def test_a_reviewer_closes_from_the_page(client_for, campaign, rita):
    assert client_for(rita).post(f"/campaigns/{campaign.pk}/close/").status_code == 302
    again = client_for(rita).post(f"/campaigns/{campaign.pk}/close/", follow=True)
    assert "was already closed" in again.content.decode()
    campaign.refresh_from_db()
    assert not campaign.is_open
    assert "missed" in client_for(rita).get(f"/campaigns/{campaign.pk}/?state=all").content.decode()


def test_compliance_exports_the_evidence_with_formulas_defused(client_for, campaign, carol, alice, fleet):
    identity_attest(actor=alice, identity=fleet["crm"], note="=HYPERLINK(\"http://evil\")")
    response = client_for(carol).get(f"/campaigns/{campaign.pk}/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r["identity"]: r["attested"] for r in rows} == {"crm-bot": "yes", "ledger-bot": "no"}
    crm = next(r for r in rows if r["identity"] == "crm-bot")
    assert crm["attested_by"] == "alice" and crm["note"].startswith("'=")


def test_the_page_export_and_api_say_how_each_answer_was_reviewed(client_for, campaign, carol, rita, alice, fleet):
    answer = identity_attest(actor=alice, identity=fleet["crm"], note="still needed")
    attestation_confirm(actor=rita, attestation=answer, reason="Grants match the purpose.")
    page = client_for(carol).get(f"/campaigns/{campaign.pk}/?state=all").content.decode()
    assert f'href="/attestations/{answer.pk}/"' in page and "Confirmed" in page
    response = client_for(carol).get(f"/campaigns/{campaign.pk}/export.csv")
    rows = {r["identity"]: r for r in csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))}
    assert rows["crm-bot"]["review"] == "confirmed" and rows["crm-bot"]["reviewed_by"] == "rita"
    assert rows["crm-bot"]["review_reason"] == "Grants match the purpose." and rows["ledger-bot"]["review"] == ""
    items = client_for(carol).get(f"/api/v1/campaigns/{campaign.pk}/items/?state=attested").json()["results"]
    assert [(i["identity_name"], i["review"], i["reviewed_by"]) for i in items] == [("crm-bot", "confirmed", "rita")]


def test_the_forms_need_a_csrf_token(campaign, rita, fleet):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(rita)
    assert strict.post(f"/campaigns/{campaign.pk}/close/").status_code == 403
    assert strict.post("/campaigns/new/", {"name": "x", "due": in_days(3).isoformat()}).status_code == 403
    assert Campaign.objects.count() == 1


def test_launch_and_close_each_write_one_audit_event(audit_actions_during, rita, fleet):
    campaign, actions = audit_actions_during(lambda: campaign_launch(actor=rita, name="Q4", due=in_days(7)))
    assert actions == ["campaign.launch"]
    _, actions = audit_actions_during(lambda: campaign_close(actor=rita, campaign=campaign))
    assert actions == ["campaign.close"]
