"""Cedar policies see the identity's risk (principal.risk_score, principal.risk_factors), as the
sweep stored it and, for a reported or dismissed leak, at once: risk-based access for agents."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from inventory.models import AIIdentity
from nhiportal.sweep.steps import BY_NAME, EVERY_SWEEP
from tests.policy.conftest import active_version
from tokens.exposures import exposure_dismiss, exposure_report_token
from tokens.policy.cedar_request import request_from_facts
from tokens.policy.models import PolicyDecision
from tokens.policy.services import policy_check
from tokens.services import service_update

from .conftest import token_request

pytestmark = pytest.mark.django_db

RISK_RULES = """
@id("permit-everything")
permit (principal, action, resource);

@id("high-risk-agents-stay-off-confidential-data")
forbid (principal, action, resource) when { principal.risk_score >= 40 && resource.sensitivity >= 3 };

@id("agents-seen-on-a-new-network-stay-off-confidential-data")
forbid (principal, action, resource) when { principal.risk_factors.contains("new_network") && resource.sensitivity >= 3 };
"""
EXAMPLES = [
    {"name": "no risk, confidential data", "service": {"sensitivity": 3}, "expect": "allow"},
    {"name": "high risk, confidential data", "principal": {"risk_score": 45, "risk_factors": ["leaked", "attestation_overdue"]},
     "service": {"sensitivity": 3}, "expect": "deny", "expect_policies": ["high-risk-agents-stay-off-confidential-data"]},
    {"name": "high risk, internal data", "principal": {"risk_score": 45}, "service": {"sensitivity": 2}, "expect": "allow"},
    {"name": "a new network, confidential data", "principal": {"risk_score": 20, "risk_factors": ["new_network"]},
     "service": {"sensitivity": 3}, "expect": "deny", "expect_policies": ["agents-seen-on-a-new-network-stay-off-confidential-data"]},
]


@pytest.fixture
def policy(sam):
    return active_version(sam, RISK_RULES, EXAMPLES)


@pytest.fixture
def confidential_crm(sam, crm):
    return service_update(actor=sam, service=crm, sensitivity=3)


def test_a_reported_leak_raises_the_risk_policy_sees_at_once_and_dismissing_it_lowers_it(
    oauth, policy, agent, confidential_crm, grant, sam,
):
    grant(agent, confidential_crm, ["tickets:read"])
    AIIdentity.objects.filter(pk=agent.identity.pk).update(attestation_due=timezone.localdate() - timedelta(days=1))
    first = token_request(oauth, agent)
    assert first.status_code == 200  # stored risk 0: the sweep has not scored it yet
    assert token_request(oauth, agent).status_code == 200  # and its next token was planned on those facts

    exposure = exposure_report_token(actor=sam, token=first.json()["access_token"], where_found="a notebook")
    refused = token_request(oauth, agent)
    assert refused.status_code == 400 and refused.json() == {
        "error": "access_denied", "error_description": "The portal's policy does not allow this request.",
    }
    decision = PolicyDecision.objects.filter(identity_id=agent.identity.pk).latest("pk")
    assert decision.policy_ids == ["high-risk-agents-stay-off-confidential-data"]
    assert (decision.request["principal"]["risk_score"], decision.request["principal"]["risk_factors"]) == (
        45, ["leaked", "attestation_overdue"],
    )

    exposure_dismiss(actor=sam, exposure=exposure, reason="A test token, already revoked.")
    assert AIIdentity.objects.get(pk=agent.identity.pk).risk_factors == ["attestation_overdue"]
    assert token_request(oauth, agent).status_code == 200


def test_a_token_from_a_new_network_counts_for_policy_after_the_next_sweep(oauth, policy, agent, confidential_crm, grant):
    grant(agent, confidential_crm, ["tickets:read"])
    assert token_request(oauth, agent, address="10.1.2.3").status_code == 200  # its first network: the baseline
    assert token_request(oauth, agent, address="198.51.100.7").status_code == 200  # news, but not yet scored
    call_command("governance_sweep", step=["score_identities"], stdout=io.StringIO())
    assert AIIdentity.objects.get(pk=agent.identity.pk).risk_factors == ["new_network"]
    refused = token_request(oauth, agent, address="198.51.100.7")
    assert refused.status_code == 400 and refused.json()["error"] == "access_denied"
    assert PolicyDecision.objects.filter(identity_id=agent.identity.pk).latest("pk").policy_ids == [
        "agents-seen-on-a-new-network-stay-off-confidential-data",
    ]


def test_scoring_runs_on_every_sweep_because_policies_read_the_score():
    assert BY_NAME["score_identities"].every == EVERY_SWEEP


def test_the_simulator_and_its_api_judge_the_identitys_stored_risk(client_for, sam, agent, confidential_crm, grant, policy):
    grant(agent, confidential_crm, ["tickets:read"])
    client = client_for(sam)
    query = {"identity": str(agent.identity.pk), "service": confidential_crm.pk, "action": "issue", "scopes": "tickets:read", "requested_ttl": 300}
    assert client.get(reverse("policy:simulator"), query).context["simulation"].verdict.decision == "allow"
    AIIdentity.objects.filter(pk=agent.identity.pk).update(risk_score=40, risk_factors=["orphaned", "rate_limited"])
    simulation = client.get(reverse("policy:simulator"), query).context["simulation"]
    assert simulation.verdict.decision == "deny"
    assert simulation.request.principal["risk_factors"] == ["orphaned", "rate_limited"]
    body = {"identity": str(agent.identity.pk), "service": confidential_crm.pk, "scopes": ["tickets:read"]}
    answer = client.post(reverse("api:policy-simulate"), json.dumps(body), content_type="application/json").json()
    assert answer["decision"] == "deny" and answer["request"]["principal"]["risk_score"] == 40


def test_an_example_with_a_risk_fact_of_the_wrong_type_is_refused_by_name():
    assert policy_check(text=RISK_RULES, examples=EXAMPLES) == []
    problems = policy_check(text=RISK_RULES, examples=[{"name": "bad", "principal": {"risk_factors": "leaked"}, "expect": "deny"}])
    assert any("principal.risk_factors must be a list of texts" in problem for problem in problems), problems


def test_a_decision_recorded_before_risk_reads_back_as_no_risk(sam, agent, confidential_crm, grant, policy, oauth):
    grant(agent, confidential_crm, ["tickets:read"])
    assert token_request(oauth, agent).status_code == 200
    decision = PolicyDecision.objects.get(identity_id=agent.identity.pk)
    older = {**decision.request, "principal": {k: v for k, v in decision.request["principal"].items() if not k.startswith("risk_")}}
    replayed = request_from_facts(older)
    assert (replayed.principal["risk_score"], replayed.principal["risk_factors"]) == (0, [])
