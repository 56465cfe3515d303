"""An access review's last-use column says what the grants list says: "not checked yet" until
the hourly grant_usage step has read the grant's use, never a made-up "never"."""

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tokens.models import AccessReview

pytestmark = pytest.mark.django_db
DUE = (timezone.localdate() + timedelta(days=14)).isoformat()


def _row(html: str, name: str) -> str:
    """The table row naming this identity."""
    return next(row for row in re.findall(r"<tr id=\"item-\d+\">.*?</tr>", html, re.S) if name in row)


def test_a_grant_nobody_checked_reads_not_checked_yet_then_its_last_use(client_for, rita, bob, make_agent, crm, get_token):
    used = make_agent(bob, name="used-agent")
    get_token(used)  # grants tickets:read and tickets:write on the CRM, and takes a token under them
    client = client_for(rita)
    client.post("/access-reviews/new/", {"name": "CRM access", "due": DUE, "service": crm.pk})
    url = f"/access-reviews/{AccessReview.objects.get().pk}/"

    before = _row(client.get(url).content.decode(), "used-agent")
    assert "not checked yet" in before and "never" not in before

    call_command("grant_usage", stdout=io.StringIO())  # the sweep's hourly step
    after = _row(client.get(url).content.decode(), "used-agent")
    assert "not checked yet" not in after and f"{timezone.localdate():%Y-%m-%d}" in after


def test_the_review_and_the_grants_list_say_the_same_of_an_unused_grant(client_for, rita, sam, bob, make_agent, crm, grant):
    idle = make_agent(bob, name="idle-agent")
    grant(idle, crm, ["tickets:write"], starts_at=timezone.now() - timedelta(days=40))
    call_command("grant_usage", stdout=io.StringIO())
    client_for(rita).post("/access-reviews/new/", {"name": "CRM access", "due": DUE, "service": crm.pk})
    review = _row(client_for(rita).get(f"/access-reviews/{AccessReview.objects.get().pk}/").content.decode(), "idle-agent")
    grants = client_for(sam).get("/grants/").content.decode()
    assert "Unused</span> <span class=\"muted\">for 30 days" in review
    assert "Unused</span> <span class=\"muted\">for 30 days" in grants
