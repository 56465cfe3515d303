"""Replay: a draft judged against the requests the portal recently decided."""

from tokens.policy.compiled import CompiledPolicy
from tokens.policy.engine import decision_record_refusal, policy_decide
from tokens.policy.replay import replay

from .conftest import DENY_ALL, issue_request


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
