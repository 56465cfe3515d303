"""The identity page's activity chart: tokens issued and requests refused, day by day."""

from datetime import timedelta

from django.utils import timezone

from tokens.activity import daily_activity
from tokens.models import IssuedToken

from .conftest import token_request


def panel(client, agent):
    return client.get(f"/identities/{agent.identity.pk}/activity-panel/")


def test_it_charts_each_days_tokens_and_refusals(client_for, agent, oauth, crm, grant, alice):
    grant(agent, crm, ["tickets:read"])
    for _ in range(3):
        assert token_request(oauth, agent).status_code == 200
    assert token_request(oauth, agent, scope="tickets:write").status_code == 400  # refused: not granted
    three_days_ago = timezone.now() - timedelta(days=3)
    IssuedToken.objects.filter(pk=IssuedToken.objects.order_by("pk").first().pk).update(issued_at=three_days_ago)

    html = panel(client_for(alice), agent).content.decode()
    assert "<strong>3</strong> tokens issued and <strong>1</strong> request refused in 14 days" in html
    today = timezone.now().date()
    assert f"<title>{today:%Y-%m-%d}: 2 issued, 1 refused</title>" in html
    assert f"<title>{three_days_ago:%Y-%m-%d}: 1 issued, 0 refused</title>" in html
    assert 'role="img" aria-label="Tokens issued and refused per day, the last 14 days"' in html
    assert "<caption>Tokens issued and refused per day</caption>" in html  # the numbers, for screen readers
    page = client_for(alice).get(f"/identities/{agent.identity.pk}/").content.decode()
    assert f'hx-get="/identities/{agent.identity.pk}/activity-panel/"' in page


def test_a_busy_day_is_counted_up_to_the_cap(agent, oauth, crm, grant):
    grant(agent, crm, ["tickets:read"])
    for _ in range(3):
        token_request(oauth, agent)
    today = daily_activity(agent.identity, cap=2)[-1]
    assert (today.issued, today.capped) == (2, True)
    assert daily_activity(agent.identity)[-1].issued == 3 and len(daily_activity(agent.identity)) == 14


def test_a_quiet_identity_says_so_and_outsiders_see_nothing(client_for, agent, alice, charlie):
    assert "No token asked for in two weeks" in panel(client_for(alice), agent).content.decode()
    assert panel(client_for(charlie), agent).status_code == 404


def test_the_api_gives_the_same_days_to_those_who_may_see_the_identity(client_for, agent, oauth, crm, grant, alice, rita, charlie):
    grant(agent, crm, ["tickets:read"])
    token_request(oauth, agent)
    url = f"/api/v1/identities/{agent.identity.pk}/activity/"
    days = client_for(alice).get(url).json()
    assert len(days) == 14 and days[-1] == {"date": timezone.now().date().isoformat(), "issued": 1, "refused": 0, "capped": False}
    assert client_for(rita).get(url).status_code == 200
    assert client_for(charlie).get(url).status_code == 404
    assert client_for(alice).get("/api/v1/identities/not-a-uuid/activity/").status_code == 404
