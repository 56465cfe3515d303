"""Suspending or offboarding an identity writes one audit event that counts what it took with
it (tokens/revocation.py answers identity_deactivated; inventory/services.py records it)."""

from datetime import timedelta

from django.utils import timezone

from inventory.services import identity_attest, identity_offboard, identity_suspend
from nhiportal.audit.models import AuditEvent
from tokens.access_requests import access_request_create


def test_suspending_an_identity_counts_the_tokens_it_revoked_and_the_tasks_it_ended_in_its_one_event(
    agent, get_token, alice, audit_actions_during,
):
    get_token(agent)
    get_token(agent)

    _, actions = audit_actions_during(lambda: identity_suspend(actor=alice, identity=agent.identity, reason="Odd traffic"))

    assert actions == ["identity.suspend"]
    event = AuditEvent.objects.get(action="identity.suspend")
    assert event.before == {"status": "active"}
    assert event.after == {"status": "suspended", "tokens_revoked": 2, "tasks_ended": 2}


def test_offboarding_an_identity_counts_everything_it_took_in_its_one_event(agent, get_token, alice, crm, audit_actions_during):
    get_token(agent)
    identity_attest(actor=alice, identity=agent.identity, note="Still summarising tickets.")
    access_request_create(
        actor=alice, identity=agent.identity, service=crm, scopes=["customers:export"],
        ends_at=timezone.now() + timedelta(days=7), justification="Monthly export.",
    )

    _, actions = audit_actions_during(lambda: identity_offboard(actor=alice, identity=agent.identity, reason="Project over"))

    assert actions == ["identity.offboard"]
    event = AuditEvent.objects.get(action="identity.offboard")
    assert event.after == {
        "status": "offboarded", "attestations_superseded": 1, "tokens_revoked": 1, "tasks_ended": 1, "grants_revoked": 1,
        "credentials_disabled": 1, "access_requests_cancelled": 1,
    }
