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
