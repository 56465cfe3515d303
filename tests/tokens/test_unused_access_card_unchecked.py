"""The dashboard's unused-access card claims nothing before the hourly usage check has looked
at any grant: "not checked yet" in grey, not a green 0."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

pytestmark = pytest.mark.django_db
CARD = "/grants/unused-card/"


def test_before_any_grant_is_checked_the_card_says_so_in_grey(client_for, sam, agent, crm, grant):
    grant(agent, crm, ["tickets:read"], starts_at=timezone.now() - timedelta(days=40))
    html = client_for(sam).get(CARD).content.decode()
    assert "Not checked yet: the hourly usage check has not run" in html
    assert "badge-ok" not in html and "was used in the last" not in html
    assert 'href="/sweep/"' in html  # a security admin is shown where the background work stands


def test_an_owner_is_told_the_check_has_not_run_without_a_link_they_may_not_follow(client_for, alice, agent, crm, grant):
    grant(agent, crm, ["tickets:read"])
    html = client_for(alice).get(CARD).content.decode()
    assert "Not checked yet" in html and "/sweep/" not in html


def test_once_checked_a_grant_in_use_reads_as_a_green_zero(client_for, sam, agent, crm, grant, get_token):
    get_token(agent)
    call_command("grant_usage", stdout=io.StringIO())  # the sweep's hourly step
    html = client_for(sam).get(CARD).content.decode()
    assert "Not checked yet" not in html
    assert '<span class="badge badge-ok">0</span>' in html and "was used in the last 30 days" in html
