"""Decisions are kept for the retention period, then pruned."""

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from tokens.policy.engine import policy_decide
from tokens.policy.models import PolicyDecision

from .conftest import issue_request


def test_it_prunes_decisions_older_than_the_retention_period(settings, agent, crm):
    settings.NHI = {**settings.NHI, "DECISION_RETENTION_DAYS": 30}
    old = policy_decide(issue_request(agent, crm))
    recent = policy_decide(issue_request(agent, crm))
    PolicyDecision.objects.filter(pk=old.decision_id).update(at=timezone.now() - timedelta(days=31))
    PolicyDecision.objects.filter(pk=recent.decision_id).update(at=timezone.now() - timedelta(days=29))
    call_command("prune_decisions", verbosity=0)
    assert list(PolicyDecision.objects.values_list("pk", flat=True)) == [recent.decision_id]
    assert AuditEvent.objects.get(action="policy.decisions_prune").after["deleted"] == 1


def test_it_takes_a_retention_override_and_is_quiet_when_nothing_is_old(agent, crm):
    policy_decide(issue_request(agent, crm))
    call_command("prune_decisions", "--days", "1", verbosity=0)
    assert PolicyDecision.objects.count() == 1
    assert not AuditEvent.objects.filter(action="policy.decisions_prune").exists()
