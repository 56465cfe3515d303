"""Repeating attestation campaigns: the next round launches by itself, on the same scope."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from inventory.campaigns import campaign_launch
from inventory.models import Campaign, Environment
from inventory.services import identity_activate
from nhiportal.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def in_days(n):
    return timezone.localdate() + timedelta(days=n)


def run() -> str:
    out = StringIO()
    call_command("repeat_campaigns", stdout=out)
    return out.getvalue()


def _launched_ago(campaign, days):
    Campaign.objects.filter(pk=campaign.pk).update(
        launched_at=campaign.launched_at - timedelta(days=days), due=campaign.due - timedelta(days=days)
    )


@pytest.fixture
def fleet(make_identity, alice):
    return [identity_activate(actor=alice, identity=make_identity(alice, name=f"prod-{n}")) for n in range(2)]


@pytest.fixture
def quarterly(rita, fleet):
    return campaign_launch(actor=rita, name="Production, quarterly", due=in_days(14), environment=Environment.PRODUCTION, repeat_days=90)


def test_the_next_round_launches_when_the_period_has_passed_and_the_last_one_closes(quarterly, rita):
    assert "Launched 0 repeating campaign(s)." in run()  # not yet
    _launched_ago(quarterly, 90)
    assert "Launched 1 repeating campaign(s)." in run()
    old = Campaign.objects.get(pk=quarterly.pk)
    new = Campaign.objects.exclude(pk=quarterly.pk).get()
    assert not old.is_open and old.closed_by_label == "system:repeat_campaigns" and old.repeated_at is not None
    assert new.is_open and new.follows_id == old.pk and new.repeat_days == 90 and new.launched_by == rita
    assert new.name == old.name and new.environment == Environment.PRODUCTION and new.items.count() == 2
    assert new.due == in_days(14)  # as long to answer as the first round
    actions = list(AuditEvent.objects.filter(actor_label="system:repeat_campaigns").order_by("id").values_list("action", flat=True))
    assert actions == ["campaign.close", "campaign.launch"]
    assert "Launched 0 repeating campaign(s)." in run()  # once


def test_a_reviewer_stops_the_repeats_on_the_page(quarterly, client_for, rita, alice):
    page = client_for(rita).get(f"/campaigns/{quarterly.pk}/")
    assert "Repeats every 90 days" in page.content.decode()
    assert client_for(alice).post(f"/campaigns/{quarterly.pk}/stop-repeating/").status_code == 403
    response = client_for(rita).post(f"/campaigns/{quarterly.pk}/stop-repeating/")
    assert response.status_code == 302
    assert Campaign.objects.get(pk=quarterly.pk).repeat_days is None
    assert AuditEvent.objects.get(action="campaign.stop_repeating").before == {"repeat_days": 90}
    _launched_ago(quarterly, 90)
    assert "Launched 0 repeating campaign(s)." in run()
    assert Campaign.objects.get(pk=quarterly.pk).is_open  # closing is left to its due date or a person


def test_a_repeat_period_shorter_than_the_time_to_answer_is_refused_next_to_the_field(client_for, rita, fleet):
    response = client_for(rita).post("/campaigns/new/", {"name": "Monthly", "due": in_days(40).isoformat(), "repeat_days": "30"})
    assert response.status_code == 400 and "Repeat after the due date" in response.context["form"].errors["repeat_days"][0]
    bad = client_for(rita).post("/campaigns/new/", {"name": "Weekly", "due": in_days(5).isoformat(), "repeat_days": "7"})
    assert bad.status_code == 400 and bad.context["form"].errors["repeat_days"]
    assert not Campaign.objects.exists()


def test_an_empty_scope_tries_again_tomorrow_and_changes_nothing(quarterly, fleet, alice):
    from inventory.services import identity_offboard

    for identity in fleet:
        identity_offboard(actor=alice, identity=identity, reason="Retired.")
    _launched_ago(quarterly, 90)
    assert "1 found no identity in scope; tried again tomorrow." in run()
    assert Campaign.objects.count() == 1 and Campaign.objects.get().is_open and Campaign.objects.get().repeated_at is None


def test_the_api_launches_a_repeating_campaign_and_stops_it(client_for, rita, carol, fleet):
    client = client_for(rita)
    made = client.post("/api/v1/campaigns/", {"name": "Quarterly", "due": in_days(10).isoformat(), "repeat_days": 90}, content_type="application/json")
    assert made.status_code == 201 and made.json()["repeat_days"] == 90
    pk = made.json()["id"]
    assert client_for(carol).post(f"/api/v1/campaigns/{pk}/stop-repeating/").status_code == 403
    stopped = client.post(f"/api/v1/campaigns/{pk}/stop-repeating/")
    assert stopped.status_code == 200 and stopped.json()["repeat_days"] is None
    assert client.post(f"/api/v1/campaigns/{pk}/stop-repeating/").status_code == 409


def test_a_round_the_sweep_notices_late_starts_when_it_was_due_so_the_schedule_does_not_drift(quarterly):
    # The daily sweep comes by 20 hours after the round was due.
    Campaign.objects.filter(pk=quarterly.pk).update(
        launched_at=quarterly.launched_at - timedelta(days=90, hours=20), due=quarterly.due - timedelta(days=90)
    )
    old = Campaign.objects.get(pk=quarterly.pk)
    was_due, answer_days = old.launched_at + timedelta(days=90), (old.due - timezone.localdate(old.launched_at)).days
    run()
    new = Campaign.objects.exclude(pk=quarterly.pk).get()
    assert new.launched_at == was_due  # and the round after it is due 90 days after that, not after today
    assert new.due == max(timezone.localdate(was_due) + timedelta(days=answer_days), in_days(1))


def test_after_a_whole_period_missed_the_next_round_starts_afresh_now(quarterly):
    _launched_ago(quarterly, 200)  # the sweep was stopped for more than a quarter
    before = timezone.now()
    run()
    new = Campaign.objects.exclude(pk=quarterly.pk).get()
    assert new.launched_at >= before and new.due == in_days(14)
