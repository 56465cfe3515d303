"""NHIP-23's new networks link to the source networks list under its New filter: with networks
seeded on both sides of it (a baseline, one first seen ten days ago, one an owner recognised),
the figure is the rows behind the link for the compliance officer, and a person who sees less
finds no more behind it than the list already shows them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tokens.models import SourceNetwork
from tokens.source_networks import network_recognise

from ..tokens.conftest import token_request
from .conftest import check
from .test_figure_links import assert_linked_figures_count_their_rows, rows_behind

pytestmark = pytest.mark.django_db

FIGURE = "new networks in 7 days"


def test_new_networks_link_to_the_source_networks_they_count(client, client_for, carol, alice, bob, charlie, make_agent, oauth, crm, grant):
    alices, bobs = make_agent(alice, name="alice-agent"), make_agent(bob, name="bob-agent")
    now = timezone.now()
    # Each agent's first network is its baseline; alice's ten days old is no longer news.
    seen = ((alices, [("10.20.3.4", 20), ("198.51.100.7", 10), ("203.0.113.9", 1)]), (bobs, [("10.30.0.5", 20), ("192.0.2.8", 2)]))
    for agent, sightings in seen:
        grant(agent, crm, ["tickets:read"])
        for address, days in sightings:
            assert token_request(oauth, agent, address=address).status_code == 200
            SourceNetwork.objects.filter(identity=agent.identity, first_seen_at__gt=now - timedelta(minutes=5)).update(
                first_seen_at=now - timedelta(days=days),
            )
    # The agent moved, and an owner said so before its first token from there: not news.
    network_recognise(actor=alice, identity=alices.identity, address="10.20.9.1")
    result = check("networks-bound")
    assert result.figures[FIGURE] == 2
    assert result.links[FIGURE] == "/networks/?new=true"
    assert_linked_figures_count_their_rows(client_for(carol), result, [FIGURE])
    assert rows_behind(client_for(alice), result.links[FIGURE]) == 1
    assert rows_behind(client_for(bob), result.links[FIGURE]) == 1
    assert rows_behind(client_for(charlie), result.links[FIGURE]) == 0
    assert client.get(result.links[FIGURE]).status_code == 302  # signed out: to the sign-in page
    page = client_for(carol).get("/compliance/controls/networks-bound/").content.decode()
    assert '<a href="/networks/?new=true" title="The list these are counted from">2</a>' in page
