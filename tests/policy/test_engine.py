"""policy_decide: the decision the token service asks for at every issuance, and its record."""

from datetime import datetime, timedelta, timezone

from django.contrib.auth import get_user_model

from tokens.policy.active import active_policy
from tokens.policy.engine import EXCHANGE, decision_record_refusal, policy_decide
from tokens.policy.models import PolicyDecision, PolicyVersion
from tokens.policy.services import policy_version_mode_set

from .conftest import DENY_ALL, DENY_EXAMPLE, active_version, issue_request


def test_it_applies_the_shipped_default_when_no_version_is_active(agent, crm):
    outcome = policy_decide(issue_request(agent, crm))
    assert outcome.allowed and outcome.decision == "allow"
    assert outcome.version is None
    assert "permit-active-agent-granted-scopes" in outcome.policy_ids
    assert outcome.ttl_bound == 900
    row = PolicyDecision.objects.get(pk=outcome.decision_id)
    assert row.version is None and row.mode == "enforce" and row.decision == row.enforced == "allow"


def test_it_never_fails_open_on_a_fresh_database(agent, crm):
    outcome = policy_decide(issue_request(agent, crm, scopes=("tickets:delete",)))
    assert not outcome.allowed and outcome.decision == "deny"


def test_it_records_the_cedar_request_and_timing(agent, crm):
    at = datetime(2026, 3, 4, 5, 6, tzinfo=timezone.utc)
    outcome = policy_decide(issue_request(agent, crm, intent="triage", sensitivity=2, at=at))
    row = PolicyDecision.objects.get(pk=outcome.decision_id)
    assert row.identity_id == agent.pk and row.service_id == crm.pk and row.action == "issue"
    assert row.request["principal_id"] == str(agent.pk)
    assert row.request["principal"]["status"] == "active"
    assert row.request["principal"]["owners_active"] is True
    assert row.request["service"]["audience"] == "https://crm.example.com"
    assert row.request["context"] == {
        "scopes": ["tickets:read"],
        "granted_scopes": ["tickets:read"],
        "intent": "triage",
        "sensitivity": 2,
        "requested_ttl": 300,
        "hour": 5,
        "weekday": 2,
        "human_approval": False,
        "consequential": False,
        "sender_constrained": False,
        "source_address": "0.0.0.0",  # no request, no address
        "credential": "jwk",
        "new_network": False,
    }
    assert row.eval_ms >= 0


def test_it_uses_the_active_version(sam, agent, crm):
    version = active_version(sam, DENY_ALL, DENY_EXAMPLE)
    outcome = policy_decide(issue_request(agent, crm))
    assert not outcome.allowed
    assert outcome.policy_ids == ("forbid-everything",)
    assert outcome.version == version.number
    assert PolicyDecision.objects.get(pk=outcome.decision_id).version == version


def test_it_allows_but_records_the_deny_in_log_only_mode(sam, agent, crm):
    version = active_version(sam, DENY_ALL, DENY_EXAMPLE)
    policy_version_mode_set(actor=sam, version=version, mode="log_only")
    outcome = policy_decide(issue_request(agent, crm))
    assert outcome.allowed and outcome.decision == "deny"
    row = PolicyDecision.objects.get(pk=outcome.decision_id)
    assert (row.decision, row.enforced, row.mode) == ("deny", "allow", "log_only")
    assert row.policy_ids == ["forbid-everything"]


def test_it_fails_closed_when_a_policy_errors(sam, agent, crm):
    overflowing = """
@id("permit-all")
permit (principal, action, resource);

@id("forbid-overflow")
forbid (principal, action, resource)
when { context.requested_ttl * 9223372036854775807 > 1 };
"""
    active_version(sam, overflowing, [{"name": "zero ttl is fine", "context": {"requested_ttl": 0}, "expect": "allow"}])
    outcome = policy_decide(issue_request(agent, crm, requested_ttl=300))
    assert not outcome.allowed and outcome.decision == "deny"
    assert outcome.policy_ids == ("forbid-overflow",)
    assert "overflow" in outcome.errors[0] and "`forbid-overflow`" in outcome.errors[0]
    row = PolicyDecision.objects.get(pk=outcome.decision_id)
    assert row.errors == list(outcome.errors)


def test_it_fails_closed_on_errors_even_in_log_only_mode(sam, agent, crm):
    overflowing = """
@id("permit-all")
permit (principal, action, resource)
when { context.requested_ttl * 9223372036854775807 > 1 };
"""
    version = active_version(sam, overflowing, [{"name": "zero ttl", "context": {"requested_ttl": 0}, "expect": "deny"}])
    policy_version_mode_set(actor=sam, version=version, mode="log_only")
    outcome = policy_decide(issue_request(agent, crm))
    assert not outcome.allowed and outcome.errors


def test_it_takes_the_smallest_ttl_bound_of_the_deciding_permits(agent, crm):
    agent.autonomy = "autonomous"
    agent.save(update_fields=["autonomy"])
    outcome = policy_decide(issue_request(agent, crm))
    assert outcome.allowed
    assert set(outcome.policy_ids) == {"permit-active-agent-granted-scopes", "permit-autonomous-short-ttl"}
    assert outcome.ttl_bound == 300


def test_it_works_out_whether_an_owner_is_active(alice, agent, crm):
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    outcome = policy_decide(issue_request(agent, crm))
    assert not outcome.allowed
    assert outcome.policy_ids == ("forbid-no-active-owner",)


def test_it_takes_owners_active_from_the_caller(agent, crm):
    outcome = policy_decide(issue_request(agent, crm, extra_context={"owners_active": False}))
    assert outcome.policy_ids == ("forbid-no-active-owner",)


def test_it_decides_exchanges_too(agent, crm):
    outcome = policy_decide(issue_request(agent, crm, action=EXCHANGE))
    assert outcome.allowed
    assert PolicyDecision.objects.get(pk=outcome.decision_id).action == "exchange"


def test_it_records_portal_refusals_as_denies(agent, crm):
    decision_record_refusal(
        action="issue", identity=agent, service=crm, rule="portal:identity-not-active",
        detail="The identity is suspended.", summary={"scopes": ["tickets:read"]},
    )
    row = PolicyDecision.objects.get()
    assert (row.decision, row.enforced, row.mode) == ("deny", "deny", "enforce")
    assert row.policy_ids == ["portal:identity-not-active"]
    assert row.errors == ["The identity is suspended."]
    assert row.identity_id == agent.pk and row.service_id == crm.pk


def test_it_records_refusals_for_unknown_clients(db):
    decision_record_refusal(action="issue", identity=None, service=None, rule="portal:unknown-client", detail="", summary={})
    row = PolicyDecision.objects.get()
    assert row.identity_id is None and row.errors == []


def test_it_remembers_the_active_version_between_issuances(settings, sam, agent, crm, django_assert_num_queries):
    settings.NHI = {**settings.NHI, "POLICY_CACHE_SECONDS": 60}
    version = active_version(sam, DENY_ALL, DENY_EXAMPLE)
    assert active_policy().version_id == version.pk
    request = issue_request(agent, crm, extra_context={"owners_active": True})
    with django_assert_num_queries(1):  # the decision row, nothing else
        outcome = policy_decide(request)
    assert outcome.version == version.number


def test_it_forgets_the_active_version_when_another_is_activated(settings, sam, agent, crm):
    settings.NHI = {**settings.NHI, "POLICY_CACHE_SECONDS": 60}
    active_version(sam, DENY_ALL, DENY_EXAMPLE)
    assert not policy_decide(issue_request(agent, crm)).allowed
    newer = active_version(sam)
    outcome = policy_decide(issue_request(agent, crm))
    assert outcome.allowed and outcome.version == newer.number


def test_it_denies_everything_when_the_active_text_no_longer_compiles(sam, agent, crm):
    version = active_version(sam)
    # As after a Cedar upgrade that changed the language: the saved text stops parsing.
    PolicyVersion.objects.filter(pk=version.pk).update(text="permit (", created_at=version.created_at - timedelta(seconds=1))
    outcome = policy_decide(issue_request(agent, crm))
    assert not outcome.allowed and outcome.policy_ids == ("portal-active-version-unusable",)
