"""The shipped default policy set embodies the guidance, checked through real decisions."""

import pytest

from tokens.policy.checking import policy_problems
from tokens.policy.compiled import compiled_default
from tokens.policy.engine import APPROVE, policy_decide
from tokens.policy.examples import default_examples, examples_run
from tokens.policy.schema import default_policy_text

from .conftest import issue_request, make_active


def test_it_validates_against_the_schema():
    assert policy_problems(default_policy_text()) == []


def test_its_shipped_examples_all_pass():
    results = examples_run(compiled_default(), default_examples())
    assert [r.name for r in results if not r.passed] == []


def test_it_allows_an_active_agent_its_granted_scopes(agent, crm):
    assert policy_decide(issue_request(agent, crm)).allowed


def test_it_refuses_scopes_beyond_the_grants(agent, crm):
    outcome = policy_decide(issue_request(agent, crm, scopes=("tickets:read", "tickets:delete")))
    assert not outcome.allowed and outcome.policy_ids == ()


@pytest.mark.parametrize("status", ["registered", "suspended", "offboarded"])
def test_it_refuses_identities_that_are_not_active(alice, make_identity, crm, status):
    identity = make_identity(alice)
    identity.status = status
    outcome = policy_decide(issue_request(identity, crm))
    assert outcome.policy_ids == ("forbid-inactive-agent",)


def test_it_refuses_task_data_above_the_ceiling(agent, crm):
    outcome = policy_decide(issue_request(agent, crm, sensitivity=4))
    assert outcome.policy_ids == ("forbid-task-above-sensitivity-ceiling",)


def test_it_refuses_a_service_above_the_ceiling(agent, alice, make_service):
    vault = make_service(alice, sensitivity=4)
    outcome = policy_decide(issue_request(agent, vault))
    assert outcome.policy_ids == ("forbid-service-above-sensitivity-ceiling",)


def test_it_refuses_an_identity_without_a_ceiling(alice, make_identity, crm):
    identity = make_active(make_identity(alice, sensitivity_ceiling=None))
    assert not policy_decide(issue_request(identity, crm)).allowed


def test_it_keeps_production_agents_out_of_other_environments(agent, alice, make_service):
    staging = make_service(alice, environment="staging")
    outcome = policy_decide(issue_request(agent, staging))
    assert outcome.policy_ids == ("forbid-production-agent-to-nonproduction-service",)


def test_it_keeps_other_agents_out_of_production(alice, make_identity, crm):
    sandboxed = make_active(make_identity(alice, environment="sandbox"))
    outcome = policy_decide(issue_request(sandboxed, crm))
    assert outcome.policy_ids == ("forbid-nonproduction-agent-to-production-service",)


def test_it_refuses_across_named_trust_boundaries(agent, alice, make_service):
    customer = make_service(alice, trust_boundary="customer-facing")
    outcome = policy_decide(issue_request(agent, customer))
    assert outcome.policy_ids == ("forbid-across-trust-boundaries",)


def test_it_asks_autonomous_agents_for_a_persons_approval_on_consequential_scopes(alice, make_identity, crm):
    autonomous = make_active(make_identity(alice, autonomy="autonomous"))
    refused = policy_decide(issue_request(autonomous, crm, consequential=True))
    assert refused.policy_ids == ("forbid-autonomous-consequential-without-approval",)
    approved = policy_decide(issue_request(autonomous, crm, consequential=True, human_approval=True))
    assert approved.allowed and approved.ttl_bound == 300


def test_it_refuses_a_ttl_above_the_ceiling(agent, crm):
    outcome = policy_decide(issue_request(agent, crm, requested_ttl=3600))
    assert outcome.policy_ids == ("forbid-ttl-above-ceiling",)


def test_it_lets_an_active_agent_ask_for_approval(agent, crm):
    assert policy_decide(issue_request(agent, crm, action=APPROVE)).allowed
