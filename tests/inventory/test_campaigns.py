"""Attestation campaigns: many owners asked at once, answered by their ordinary attestation."""

import csv
import io
import re
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


# Closing and stopping the repeats: each confirmed on a page that says what it will do; a
# closed campaign says it is closed, when, and its counts as final.


def test_the_campaign_page_links_to_a_confirmation_rather_than_closing_on_one_click(client_for, campaign, rita):
    page = client_for(rita).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f'<a class="btn btn-warn" href="/campaigns/{campaign.pk}/close/">Close the campaign…</a>' in page
    assert f'action="/campaigns/{campaign.pk}/close/"' not in page  # no form that closes it from here


def test_closing_first_says_how_many_will_be_missed_and_changes_nothing(client_for, campaign, rita, alice, bob, fleet):
    identity_attest(actor=alice, identity=fleet["crm"])
    response = client_for(rita).get(f"/campaigns/{campaign.pk}/close/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<strong>1 identity not yet attested is marked missed</strong>: 1 owner who has not answered can no longer answer this campaign" in body
    assert "the count becomes final: 1 of 2 identities attested" in body
    assert '<button type="submit" class="btn-warn">Close the campaign</button>' in body
    campaign.refresh_from_db()
    assert campaign.is_open and not AuditEvent.objects.filter(action="campaign.close").exists()
    # Its button closes it.
    assert client_for(rita).post(f"/campaigns/{campaign.pk}/close/").status_code == 302
    campaign.refresh_from_db()
    assert not campaign.is_open


def test_the_close_page_of_a_closed_campaign_sends_back_to_it(client_for, campaign, rita):
    campaign_close(actor=rita, campaign=campaign)
    response = client_for(rita).get(f"/campaigns/{campaign.pk}/close/", follow=True)
    assert response.redirect_chain == [(f"/campaigns/{campaign.pk}/", 302)]
    assert "was already closed" in response.content.decode()


def test_only_those_who_run_campaigns_see_the_confirmation_pages(client_for, campaign, charlie, alice, carol, bob):
    for path in (f"/campaigns/{campaign.pk}/close/", f"/campaigns/{campaign.pk}/stop-repeating/"):
        assert client_for(charlie).get(path).status_code == 404
        assert client_for(bob).get(path).status_code == 404  # owns nothing it asks about
        for person in (alice, carol):
            assert client_for(person).get(path).status_code == 403


def test_a_closed_campaign_says_it_is_closed_and_its_counts_are_final(client_for, campaign, rita, alice, fleet):
    identity_attest(actor=alice, identity=fleet["crm"])
    campaign = campaign_close(actor=rita, campaign=campaign)
    body = client_for(rita).get(f"/campaigns/{campaign.pk}/").content.decode().split("<main", 1)[1]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))
    assert f"closed by rita on {timezone.localtime(campaign.closed_at):%Y-%m-%d %H:%M}: owners can no longer answer it, and its counts are final." in text
    assert "Final: 50% attested" in text and "1 of 2 identities attested; 1 missed." in text
    # Nothing reads as if it were still open.
    for still_open in ("owners not emailed yet", "the background work emails them", "waiting", "Waiting", "claim them", "Close the campaign"):
        assert still_open not in text, still_open
    assert '>Missed</a>' in body  # the unanswered tab is called what they are
    assert '<span class="badge badge-rejected">missed</span>' in body  # and so is each row


def test_a_closed_campaign_without_an_active_owner_left_says_so_in_the_past(client_for, campaign, rita, alice, fleet):
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    campaign = campaign_close(actor=rita, campaign=campaign)
    body = client_for(rita).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "0 of 2 identities attested; 2 missed, of which 2 had no active owner to answer." in body
    assert "/claims/orphaned/" not in body.split('aria-label="Progress"', 1)[1].split("</section>", 1)[0]


def test_stopping_the_repeats_is_confirmed_on_a_page_that_names_the_round_that_will_not_launch(client_for, rita, fleet):
    quarterly = campaign_launch(actor=rita, name="Quarterly", due=in_days(14), environment=Environment.PRODUCTION, repeat_days=90)
    page = client_for(rita).get(f"/campaigns/{quarterly.pk}/").content.decode()
    assert f'href="/campaigns/{quarterly.pk}/stop-repeating/">Stop repeating…</a>' in page
    assert f'action="/campaigns/{quarterly.pk}/stop-repeating/"' not in page
    confirm = client_for(rita).get(f"/campaigns/{quarterly.pk}/stop-repeating/").content.decode()
    next_launch = timezone.localtime(quarterly.launched_at + timedelta(days=90))
    assert f"the next round, due to launch on {next_launch:%Y-%m-%d}, does not launch" in confirm
    assert "this round stays open, with 2 identities still to attest" in confirm
    assert Campaign.objects.get(pk=quarterly.pk).repeat_days == 90
    assert client_for(rita).post(f"/campaigns/{quarterly.pk}/stop-repeating/").status_code == 302
    assert Campaign.objects.get(pk=quarterly.pk).repeat_days is None
    # Once stopped, its page sends back with a word, not a confirmation of nothing.
    again = client_for(rita).get(f"/campaigns/{quarterly.pk}/stop-repeating/", follow=True)
    assert again.redirect_chain == [(f"/campaigns/{quarterly.pk}/", 302)] and "does not repeat any more" in again.content.decode()
