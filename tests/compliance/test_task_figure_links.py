"""NHIP-15's crossing tasks link to the tasks list under its crossing filter, from the instant
the figure counts from: the figure is the rows behind its link for the compliance officer, and
a person who sees less finds no more there than the list already shows them. NHIP-10's task
figures stay unlinked: counted over a capped scan, one of them in Python."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Environment
from tokens.models import Service, Task
from tokens.services import service_create

from ..tokens.conftest import token_request
from .conftest import check
from .test_figure_links import assert_linked_figures_count_their_rows, rows_behind

pytestmark = pytest.mark.django_db

WIKI = "https://wiki.example.com"


def _wiki_task(oauth, agent, intent):
    details = json.dumps([{"type": "agent_task", "intent": intent, "actions": ["read"]}])
    response = token_request(oauth, agent, resource=WIKI, scope="pages:read", authorization_details=details)
    assert response.status_code == 200, response.content
    return Task.objects.get(identity=agent.identity, intent=intent)


def test_crossing_tasks_link_to_the_tasks_that_crossed_since_the_instant_they_count_from(
    client_for, carol, alice, bob, charlie, sam, make_agent, grant, oauth, get_token,
):
    """A production agent's recent task with a token for a service now in staging crosses; one
    opened 31 days ago, one that got no token, and a production service's are not counted."""
    wiki = service_create(actor=sam, name="Wiki", audience=WIKI, owner=sam, trust_boundary="corp-internal", scopes=["pages:read"])
    agent = make_agent(alice, name="alice-agent", autonomy="autonomous")
    get_token(agent)  # the CRM, in production
    grant(agent, wiki, ["pages:read"])
    crossed = _wiki_task(oauth, agent, "Read the runbook")
    old = _wiki_task(oauth, agent, "Read last month's runbook")
    Task.objects.filter(pk=old.pk).update(opened_at=timezone.now() - timedelta(days=31))
    Task.objects.create(identity=agent.identity, service=wiki, intent="Asked, got nothing", scopes=["pages:read"])
    # Policy refuses a production agent a staging service's token: the wiki moved there since.
    Service.objects.filter(pk=wiki.pk).update(environment=Environment.STAGING)
    result = check("environment-isolation")
    assert result.figures["crossing tasks"] == 1 and result.status == "fail"
    client = client_for(carol)
    assert_linked_figures_count_their_rows(client, result, ["crossing tasks"])
    assert [t.pk for t in client.get(result.links["crossing tasks"]).context["tasks"]] == [crossed.pk]
    assert rows_behind(client_for(alice), result.links["crossing tasks"]) == 1
    for person in (bob, charlie):
        assert rows_behind(client_for(person), result.links["crossing tasks"]) == 0


def test_the_approval_figures_count_a_capped_scan_and_link_nowhere(make_agent, alice, get_token):
    get_token(make_agent(alice, name="alice-agent", autonomy="autonomous"))
    result = check("human-approval")
    assert result.figures["autonomous agents' tasks, last 30 days"] == 1 and result.links == {}
