"""An open exposure waits for a security admin to confirm or dismiss it: the navigation and the
dashboard count them for security admins, and link to the open ones. Nobody else triages, so
nobody else is counted anything."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from nhiportal.people.roles import roles_of
from tokens.context_processors import open_exposure_count
from tokens.exposures import exposure_confirm, exposure_dismiss, exposure_report_credential

NAV_BADGE = '>Exposures <span class="badge badge-pending" title="open, waiting for your decision">{}</span></a>'
WAITING = 'aria-label="Waiting for your decision"'


@pytest.fixture
def leaks(alice, make_identity):
    """Two open reports of alice's agents' keys."""
    return [
        exposure_report_credential(
            actor=alice, credential=make_identity(alice, name=f"leaky-{n}").credentials.get(), where_found="a public gist",
        )
        for n in (1, 2)
    ]


def test_a_security_admin_sees_the_open_exposures_counted_in_the_navigation_linking_to_them(sam, leaks, client_for):
    page = client_for(sam).get("/services/").content.decode()
    assert NAV_BADGE.format(2) in page
    assert '<a href="/exposures/?state=open"' in page


def test_the_dashboard_asks_a_security_admin_to_decide_the_open_exposures(sam, leaks, client_for):
    page = client_for(sam).get("/").content.decode()
    assert WAITING in page
    assert '<a href="/exposures/?state=open">2 open exposures to confirm or dismiss</a>' in page
    # The link lists those very reports: the list's own state filter.
    listed = client_for(sam).get("/exposures/?state=open")
    assert {e.pk for e in listed.context["exposures"]} == {e.pk for e in leaks}


def test_confirmed_and_dismissed_exposures_wait_for_no_one(sam, leaks, client_for):
    exposure_confirm(actor=sam, exposure=leaks[0], reason="Real: key in a public gist.")
    page = client_for(sam).get("/").content.decode()
    assert NAV_BADGE.format(1) in page and "1 open exposure to confirm or dismiss" in page
    exposure_dismiss(actor=sam, exposure=leaks[1], reason="A test key.")
    page = client_for(sam).get("/").content.decode()
    assert "badge-pending" not in page.split("Exposures", 1)[1].split("</a>", 1)[0]
    assert "open exposure" not in page and WAITING not in page
    assert '<a href="/exposures/"' in page  # no open one: the navigation goes to the whole list


@pytest.mark.parametrize("person", ["alice", "rita", "carol", "charlie"])
def test_those_who_cannot_confirm_or_dismiss_are_counted_nothing(request, person, leaks, client_for):
    # alice reported them and owns the agents; rita and carol read every exposure; charlie is an outsider.
    page = client_for(request.getfixturevalue(person)).get("/").content.decode()
    assert "open exposure" not in page
    assert '<a href="/exposures/"' in page and "Exposures <span" not in page
    assert open_exposure_count(request.getfixturevalue(person)) == 0


def test_counting_costs_a_security_admin_one_query_without_joins_and_anyone_else_none(sam, rita, leaks):
    roles_of(sam), roles_of(rita)  # read once per request already, for the navigation's roles
    with CaptureQueriesContext(connection) as queries:
        assert open_exposure_count(sam) == 2
    assert len(queries) == 1 and "JOIN" not in queries[0]["sql"].upper()
    with CaptureQueriesContext(connection) as queries:
        assert open_exposure_count(rita) == 0
    assert len(queries) == 0
