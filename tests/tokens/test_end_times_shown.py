"""A grant or request ends at an instant, not on a day: the pages show its hour, in UTC, as they
show every other time, so one ending at 00:00 does not read as lasting through that day."""

from datetime import timedelta

from django.utils import timezone

from tokens.access_reviews import access_review_launch


def midnight_in(days):
    return (timezone.now() + timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)


def test_the_requests_list_shows_the_hour_an_asked_grant_would_end(client_for, alice, agent, crm):
    ends_at = midnight_in(10)
    body = {"identity": str(agent.identity.pk), "service": crm.pk, "scopes": ["tickets:read"],
            "ends_at": ends_at.isoformat(), "justification": "triage"}
    assert client_for(alice).post("/api/v1/access-requests/", body, content_type="application/json").status_code == 201
    page = client_for(alice).get("/access-requests/?view=mine").content.decode()
    assert f"{ends_at:%Y-%m-%d} 00:00" in page
    assert "Times are in UTC" in page


def test_an_access_review_shows_the_hour_each_grant_ends(client_for, rita, make_agent, bob, crm, grant):
    ending = grant(make_agent(bob, name="ending"), crm, ["tickets:read"])
    ending.ends_at = midnight_in(3)
    ending.save(update_fields=["ends_at"])
    review = access_review_launch(actor=rita, name="Quarterly", due=timezone.localdate(), service=crm)
    page = client_for(rita).get(f"/access-reviews/{review.pk}/").content.decode()
    assert f"{ending.ends_at:%Y-%m-%d} 00:00" in page
