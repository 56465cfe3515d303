"""Replay: a draft judged against the requests the portal recently decided."""

import pytest
from django.urls import reverse

from tokens.policy.compiled import CompiledPolicy
from tokens.policy.engine import decision_record_refusal, policy_decide
from tokens.policy.replay import replay

from .conftest import DENY_ALL, DENY_EXAMPLE, issue_request, new_version


def test_it_lists_every_request_whose_outcome_would_change(agent, crm):
    allowed = policy_decide(issue_request(agent, crm))
    denied = policy_decide(issue_request(agent, crm, requested_ttl=3600))
    decision_record_refusal(action="issue", identity=agent, service=crm, rule="portal:no-live-grant", detail="", summary={"scopes": []})
    report = replay(CompiledPolicy(DENY_ALL))
    assert (report.replayed, report.skipped, report.denied) == (2, 1, 2)
    assert [c.decision.pk for c in report.changes] == [allowed.decision_id]
    assert report.changes[0].now == "deny" and report.changes[0].policy_ids == ("forbid-everything",)
    assert report.denies_everything
    assert denied.decision_id not in [c.decision.pk for c in report.changes]


def test_it_replays_only_the_last_n(agent, crm):
    for _ in range(3):
        policy_decide(issue_request(agent, crm))
    assert replay(CompiledPolicy(DENY_ALL), limit=2).replayed == 2


def test_it_does_not_warn_with_nothing_to_replay(db):
    report = replay(CompiledPolicy(DENY_ALL))
    assert report.replayed == 0 and not report.denies_everything


@pytest.mark.parametrize("limit", ["0", "-1", "5001", "99999999999999999999", "many"])
def test_a_replay_limit_out_of_range_is_an_error_not_another_limits_replay(client_for, sam, agent, crm, limit):
    policy_decide(issue_request(agent, crm))
    draft = new_version(sam, DENY_ALL, DENY_EXAMPLE)
    page = client_for(sam).get(reverse("policy:version-replay", args=[draft.number]), {"limit": limit})
    assert page.status_code == 200
    assert page.context["form"].errors["limit"]
    assert page.context["report"] is None and b"Replayed" not in page.content


def test_a_replay_of_the_last_n_says_how_many_it_replayed(client_for, sam, agent, crm):
    for _ in range(3):
        policy_decide(issue_request(agent, crm))
    draft = new_version(sam, DENY_ALL, DENY_EXAMPLE)
    client = client_for(sam)
    for limit, replayed in (("1", 1), ("5000", 3), ("", 3)):
        page = client.get(reverse("policy:version-replay", args=[draft.number]), {"limit": limit})
        assert page.context["report"].replayed == replayed


def test_the_counts_add_up_whichever_way_they_are_read(agent, crm):
    policy_decide(issue_request(agent, crm))  # allowed
    policy_decide(issue_request(agent, crm, requested_ttl=3600))  # denied
    flips = CompiledPolicy('@id("permit-long")\npermit (principal, action, resource) when { context.requested_ttl > 600 };\n')
    report = replay(flips)
    assert (report.replayed, report.allowed, report.denied) == (2, 1, 1)
    assert (report.unchanged, report.allowed_to_denied, report.denied_to_allowed) == (0, 1, 1)
    assert report.allowed + report.denied == report.unchanged + report.allowed_to_denied + report.denied_to_allowed == report.replayed


def test_the_summary_says_what_a_request_already_denied_and_denied_again_counts_as(client_for, sam, agent, crm):
    # It read "0 outcomes would change, 1 would be denied": a contradiction at first sight.
    policy_decide(issue_request(agent, crm, requested_ttl=3600))
    draft = new_version(sam, DENY_ALL, DENY_EXAMPLE)
    client = client_for(sam)
    for url in (reverse("policy:version-replay", args=[draft.number]), reverse("policy:version-detail", args=[draft.number])):
        html = client.get(url).content.decode()
        assert "would change" not in html
        assert "Replayed the last 1 recorded request: this version would allow 0 and deny 1." in html
        assert "<strong>1</strong> would be decided as it was recorded" in html
        assert "<strong>0</strong> allowed then would now be" in html and "<strong>0</strong> denied then would now be" in html
