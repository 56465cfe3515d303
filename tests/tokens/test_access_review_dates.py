"""An access review's date to decide by: today at the earliest, within a year, never an absurd one."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tokens.access_reviews import LONGEST_DAYS
from tokens.models import AccessReview

API = "/api/v1/access-reviews/"


@pytest.fixture
def live_grant(make_agent, bob, crm, grant):
    return grant(make_agent(bob, name="needed"), crm, ["tickets:read"])


def test_a_review_may_be_decided_by_the_last_day_of_the_year_ahead(client_for, rita, live_grant):
    last = timezone.localdate() + timedelta(days=LONGEST_DAYS)
    created = client_for(rita).post(API, {"name": "Yearly", "due": last.isoformat()}, content_type="application/json")
    assert created.status_code == 201, created.content
    assert AccessReview.objects.get().due == last


@pytest.mark.parametrize("due", ["9999-12-31", "later"])
def test_a_date_past_the_year_ahead_is_refused_through_the_api(client_for, rita, live_grant, due):
    if due == "later":
        due = (timezone.localdate() + timedelta(days=LONGEST_DAYS + 1)).isoformat()
    refused = client_for(rita).post(API, {"name": "Forever", "due": due}, content_type="application/json")
    assert refused.status_code == 400 and f"within {LONGEST_DAYS} days" in refused.json()["due"][0]
    assert not AccessReview.objects.exists()


def test_a_date_past_the_year_ahead_is_a_form_error(client_for, rita, live_grant):
    refused = client_for(rita).post("/access-reviews/new/", {"name": "Forever", "due": "9999-12-31"})
    assert refused.status_code == 400 and f"within {LONGEST_DAYS} days".encode() in refused.content
    assert not AccessReview.objects.exists()


def test_the_form_says_until_when_decisions_are_taken(client_for, rita, live_grant):
    page = client_for(rita).get("/access-reviews/new/")
    assert b"until the end of that day (UTC)" in page.content
