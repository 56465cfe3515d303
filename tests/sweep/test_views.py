"""The background work page and GET /api/v1/sweep/: each step's last run, for those who read everything."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from nhiportal.sweep.models import SweepStep
from nhiportal.sweep.steps import STEPS

PAGE = reverse("sweep:status")
API = reverse("api:sweep")


@pytest.mark.parametrize("persona", ["rita", "carol", "sam"])
def test_it_shows_each_step_never_run_before_the_first_sweep(persona, request, client_for):
    page = client_for(request.getfixturevalue(persona)).get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "The sweep has not run yet" in html
    assert html.count('<span class="badge badge-pending">never run</span>') == len(STEPS)


def test_after_a_sweep_each_step_says_ok_with_what_it_said(carol, client_for):
    call_command("governance_sweep", stdout=open("/dev/null", "w"))
    html = client_for(carol).get(PAGE).content.decode()
    assert "The sweep has not run yet" not in html
    assert html.count('<span class="badge badge-ok">ok</span>') == len(STEPS)
    assert "controls pass." in html and "Deleted 0 policy decision(s)." in html


def test_a_failed_or_overdue_step_asks_for_a_look(carol, client_for):
    call_command("governance_sweep", stdout=open("/dev/null", "w"))
    SweepStep.objects.filter(name="notify_claims").update(succeeded=False, output="ConnectionRefusedError: mail server down")
    long_ago = timezone.now() - timedelta(days=3)
    SweepStep.objects.filter(name="compliance_snapshot").update(last_success_at=long_ago, slot_at=long_ago, finished_at=long_ago)
    html = client_for(carol).get(PAGE).content.decode()
    assert "Some steps need a look" in html
    assert '<span class="badge badge-fail">failed</span>' in html and '<span class="badge badge-overdue">overdue</span>' in html
    assert "mail server down" in html


def test_the_api_gives_each_steps_state(sam, client_for):
    assert [row["state"] for row in client_for(sam).get(API).json()] == ["never"] * len(STEPS)
    call_command("governance_sweep", "--step", "prune_tokens", stdout=open("/dev/null", "w"))
    rows = {row["step"]: row for row in client_for(sam).get(API).json()}
    assert rows["prune_tokens"]["state"] == "ok" and rows["prune_tokens"]["every_seconds"] == 3600
    assert rows["prune_tokens"]["output"].startswith("Pruned 0 token rows")
    assert rows["compliance_snapshot"]["state"] == "never" and rows["compliance_snapshot"]["finished_at"] is None


@pytest.mark.parametrize("persona", ["alice", "charlie"])
def test_owners_and_outsiders_are_refused_the_page_and_the_api(persona, request, client_for):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(PAGE).status_code == 403
    refused = client.get(API)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Background work is open to reviewers, compliance and security admins."}
    assert "Background work" not in client.get(reverse("inventory:dashboard")).content.decode()


def test_anonymous_visitors_are_sent_to_log_in_and_the_api_asks_for_credentials(client, db):
    assert client.get(PAGE)["Location"].startswith(reverse("login"))
    assert client.get(API).status_code in (401, 403)


def test_the_dashboard_tells_security_admins_when_background_work_stalls(sam, carol, client_for):
    dashboard = reverse("inventory:dashboard")
    assert "Background work needs a look" in client_for(sam).get(dashboard).content.decode()
    assert "Background work needs a look" not in client_for(carol).get(dashboard).content.decode()
    call_command("governance_sweep", stdout=open("/dev/null", "w"))
    assert "Background work needs a look" not in client_for(sam).get(dashboard).content.decode()
    SweepStep.objects.filter(name="suspend_orphans").update(succeeded=False)
    html = client_for(sam).get(dashboard).content.decode()
    assert "Background work needs a look:</strong>\n  <code>suspend_orphans</code> failed." in html


def test_each_step_names_the_periods_it_works_to_as_configured(carol, sam, client_for, settings):
    settings.NHI = {**settings.NHI, "UNUSED_ACCESS_DAYS": 14, "ORPHAN_GRACE_DAYS": 1}
    page = client_for(carol).get("/sweep/").content.decode()
    assert "notes the scopes no token carried in the last 14 days." in page
    assert "suspends those still orphaned after 1 day." in page
    steps = {row["step"]: row["does"] for row in client_for(sam).get(API).json()}
    assert steps["notify_unused_identities"].startswith("Tells owners of active identities that obtained no token in the last 14 days")
