"""NHIP-06 and NHIP-09 count tokens: each such figure links to the tokens list filtered as it
counts (NHIP-06's services taking only bound tokens, to the services list), and an auditor who
clicks it finds as many rows as the figure says."""

from datetime import timedelta

import jwt
import pytest
from django.utils import timezone

from nhiportal.time_window import start_of
from tokens.models import IssuedToken, Service
from tokens.revocation import task_end, token_revoke
from tokens.services import service_create

from .conftest import check

pytestmark = pytest.mark.django_db


def _row(issued) -> IssuedToken:
    return IssuedToken.objects.get(jti=jwt.decode(issued["access_token"], options={"verify_signature": False})["jti"])


@pytest.fixture
def ledger(alice, bob, make_agent, get_token):
    """Tokens of two owners' agents: live, bound to the agent's key, revoked, of an ended task, and two
    issued before the 30 days: one on the first day before them, one on their first day."""
    alices, bobs = make_agent(alice, name="alice-agent"), make_agent(bob, name="bob-agent")
    rows = [_row(get_token(agent)) for agent in (alices, alices, alices, alices, bobs, bobs, bobs)]
    first_day = start_of(timezone.localdate() - timedelta(days=30))
    IssuedToken.objects.filter(pk=rows[0].pk).update(issued_at=first_day - timedelta(seconds=1), expires_at=first_day + timedelta(minutes=4))
    IssuedToken.objects.filter(pk=rows[1].pk).update(issued_at=first_day, expires_at=first_day + timedelta(minutes=5))
    IssuedToken.objects.filter(pk__in=[rows[2].pk, rows[4].pk]).update(cnf_jkt="0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
    token_revoke(token=rows[3], actor=alice, reason="Leaked")
    task_end(task=rows[6].task, actor=bob, reason="Done")  # something ended, so NHIP-09 has evidence
    return rows


def _linked(result) -> list[tuple[str, object, str]]:
    return [(name, value, link) for name, value, link in result.figure_rows if link]


def test_the_token_figures_of_nhip_06_are_the_rows_behind_their_links(client_for, carol, sam, ledger, crm):
    # The CRM takes only bound tokens; a retired service that did is not counted.
    Service.objects.filter(pk=crm.pk).update(requires_dpop=True)
    retired = service_create(actor=sam, name="Retired", audience="https://retired.example.com", owner=sam, scopes=["x:read"])
    Service.objects.filter(pk=retired.pk).update(requires_dpop=True, is_active=False)
    service_create(actor=sam, name="Plain", audience="https://plain.example.com", owner=sam, scopes=["x:read"])
    result = check("short-lived-tokens")
    assert result.figures["issued, last 30 days"] == 6  # the one a second before the first day is out
    assert result.figures["bound to the agent's key (DPoP)"] == 2 and result.figures["live now"] == 3
    assert result.figures["services taking only bound tokens"] == 1
    linked = _linked(result)
    assert {name for name, *_ in linked} == {
        "issued, last 30 days", "live now", "bound to the agent's key (DPoP)", "services taking only bound tokens",
    }
    client = client_for(carol)
    for name, value, link in linked:
        response = client.get(link)
        assert response.status_code == 200 and response.context["page_obj"].paginator.count == value, (name, link)


def test_the_live_tokens_of_nhip_09_are_the_rows_behind_its_link(client_for, carol, ledger):
    result = check("ending-access")
    assert result.figures["live tokens"] == 3
    [(name, value, link)] = [(n, v, link) for n, v, link in _linked(result) if n == "live tokens"]
    response = client_for(carol).get(link)
    assert response.context["page_obj"].paginator.count == value == 3


def test_the_control_page_shows_the_figures_as_links(client_for, carol, ledger):
    page = client_for(carol).get("/compliance/controls/short-lived-tokens/").content.decode()
    for _name, _value, link in _linked(check("short-lived-tokens")):
        assert f'<a href="{link.replace("&", "&amp;")}"' in page
