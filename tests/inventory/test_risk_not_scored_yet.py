"""Before the sweep's risk scoring has looked at an identity, every page says "not scored yet":
its stored 0 is the column's default, not a finding of no risk."""

import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def _score():
    """The sweep's risk scoring step, run as the sweep runs it (so its run is recorded)."""
    call_command("governance_sweep", step=["score_identities"], stdout=io.StringIO())


def test_the_dashboard_counts_unscored_identities_apart_from_those_with_no_risk(client_for, alice, make_identity):
    make_identity(alice), make_identity(alice)
    page = client_for(alice).get("/")
    html = page.content.decode()
    assert page.context["unscored_count"] == 2
    assert ">Not scored yet</text>" in html and 'aria-label="None: 0"' in html
    assert "2 are not scored yet" in html

    _score()
    page = client_for(alice).get("/")
    html = page.content.decode()
    assert page.context["unscored_count"] == 0 and "Not scored yet" not in html
    assert 'aria-label="None: 2"' in html


def test_the_identity_list_says_not_scored_yet_until_the_scoring_runs(client_for, alice, make_identity):
    make_identity(alice, name="first")
    assert [i.risk_unscored for i in client_for(alice).get("/identities/").context["identities"]] == [True]
    _score()
    assert [i.risk_unscored for i in client_for(alice).get("/identities/").context["identities"]] == [False]
    # One registered since the last run has not been looked at either.
    make_identity(alice, name="second")
    rows = client_for(alice).get("/identities/").context["identities"]
    assert {i.name: i.risk_unscored for i in rows} == {"first": False, "second": True}


def test_the_risk_panel_promises_no_time_for_the_next_scoring(client_for, alice, make_identity):
    identity = make_identity(alice, autonomy="autonomous")  # a risk factor: the live score is not the stored 0
    html = client_for(alice).get(f"/identities/{identity.pk}/risk-panel/").content.decode()
    assert "Token policies read 0 of 100 until the background risk scoring first scores it" in html
    assert "within minutes" not in html


def test_the_risk_filter_keeps_not_scored_yet_apart_from_none(client_for, alice, make_identity):
    make_identity(alice, name="first")
    _score()
    make_identity(alice, name="second")
    names = lambda risk: [i.name for i in client_for(alice).get(f"/identities/?risk={risk}").context["identities"]]  # noqa: E731
    assert names("none") == ["first"] and names("unscored") == ["second"]
    assert 'href="/identities/?risk=unscored"' in client_for(alice).get("/").content.decode()
