"""Owners hear, at most once a day per identity, that the portal refused their agent tokens and
which rules said no; log-only decisions refuse nothing and are not told."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from nhiportal.sweep.steps import BY_NAME, EVERY_SWEEP
from tests.policy.conftest import active_version
# The token side's agents (each with a key to ask with), not this folder's bare identities.
from tests.tokens.conftest import agent, crm, grant, make_agent, oauth, token_request  # noqa: F401
from tokens.policy.models import PolicyDecision, PolicyMode, RefusalNotice

pytestmark = pytest.mark.django_db


NO_WRITES = """
@id("permit-everything")
permit (principal, action, resource);

@id("no-writes")
forbid (principal, action, resource) when { context.scopes.contains("tickets:write") };
"""


def notify():
    call_command("notify_refusals", stdout=io.StringIO())


def test_owners_hear_once_a_day_how_often_and_by_which_rules_their_agent_was_refused(
    oauth, agent, make_agent, bob, crm, grant, sam, alice, mailoutbox,
):
    active_version(sam, NO_WRITES, [{"name": "writes refused", "context": {"scopes": ["tickets:write"]}, "expect": "deny"}])
    grant(agent, crm, ["tickets:read", "tickets:write"])
    for _ in range(2):
        assert token_request(oauth, agent, scope="tickets:write").json()["error"] == "access_denied"
    assert token_request(oauth, agent, scope="customers:export").status_code == 400  # no grant covers it
    beyond_grant = PolicyDecision.objects.filter(enforced="deny").latest("pk").policy_ids[0]
    assert beyond_grant.startswith("portal:")
    assert token_request(oauth, agent).status_code == 200
    others = make_agent(bob)  # bob's agent is not refused: nobody hears about it
    grant(others, crm, ["tickets:read"])
    assert token_request(oauth, others).status_code == 200

    notify()
    (mail,) = mailoutbox
    assert mail.to == [alice.email] and mail.subject == "[NHI Portal] 1 agent you own was refused tokens"
    line = next(line for line in mail.body.splitlines() if line.startswith(f"- {agent.identity.name}:"))
    assert line == f"- {agent.identity.name}: refused 3 times in the last day, by no-writes (2), {beyond_grant} (1)"
    assert f"/identities/{agent.identity.pk}/#decisions" in mail.body
    assert AuditEvent.objects.get(action="identities.notify_refusals").after == {"identities": 1, "people": 1}

    notify()
    assert len(mailoutbox) == 1  # told already today
    RefusalNotice.objects.filter(identity_id=agent.identity.pk).update(told_at=timezone.now() - timedelta(days=2))
    notify()
    assert len(mailoutbox) == 2  # refused within the day, told more than a day ago
    RefusalNotice.objects.update(told_at=timezone.now() - timedelta(days=2))
    PolicyDecision.objects.update(at=timezone.now() - timedelta(days=3))
    notify()
    assert len(mailoutbox) == 2  # nothing new to tell


def test_log_only_would_be_refusals_are_not_told(oauth, agent, crm, grant, sam, mailoutbox):
    active_version(sam, '@id("forbid-all")\nforbid (principal, action, resource);\n', [{"name": "all refused", "expect": "deny"}],
                   mode=PolicyMode.LOG_ONLY)
    grant(agent, crm, ["tickets:read"])
    assert token_request(oauth, agent).status_code == 200
    assert PolicyDecision.objects.get().decision == "deny"
    notify()
    assert mailoutbox == [] and not RefusalNotice.objects.exists()


def test_the_sweep_tells_owners_on_every_run():
    assert BY_NAME["notify_refusals"].every == EVERY_SWEEP
