"""The identity page's decisions panel: recent decisions and refusals, and which policy said no."""

from django.urls import reverse

from tokens.policy.engine import decision_record_refusal, policy_decide

from .conftest import issue_request


def panel(client, identity):
    return client.get(reverse("policy:identity-decisions-panel", args=[identity.pk]), HTTP_HX_REQUEST="true")


def test_the_owner_sees_recent_decisions_and_the_policy_that_said_no(client_for, alice, agent, crm):
    policy_decide(issue_request(agent, crm, requested_ttl=3600))
    decision_record_refusal(
        action="issue", identity=agent, service=crm, rule="portal:no-live-grant", detail="No live grant.", summary={}
    )
    page = panel(client_for(alice), agent)
    assert page.status_code == 200
    assert b"forbid-ttl-above-ceiling" in page.content
    assert b"portal:no-live-grant" in page.content and b"No live grant." in page.content
    assert b"<html" not in page.content  # a fragment for htmx
    assert f"?identity={agent.pk}".encode() in page.content


def test_it_says_when_nothing_was_decided_yet(client_for, rita, agent):
    assert b"No token requests decided yet." in panel(client_for(rita), agent).content


def test_people_who_cannot_see_the_identity_get_404(client_for, charlie, bob, agent):
    assert panel(client_for(charlie), agent).status_code == 404
    assert panel(client_for(bob), agent).status_code == 404
