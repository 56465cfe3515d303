"""A client's next token is planned before the write lock, on the facts its last token was
decided on (tokens/issuance.py, _run). Whatever changed in between must decide it instead."""

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from inventory.services import identity_suspend, identity_update
from nhiportal.audit.models import AuditEvent
from tokens.models import IssuedToken, Task
from tokens.policy.models import PolicyDecision
from tokens.services import grant_create, grant_revoke, service_update

from .conftest import token_request


def _decisions(agent):
    return list(PolicyDecision.objects.filter(identity_id=agent.identity.pk).order_by("id"))


def test_the_next_token_on_the_same_facts_writes_what_the_first_did(agent, get_token, capsys):
    first, second = get_token(agent), get_token(agent)

    assert first["task_id"] != second["task_id"]
    assert Task.objects.count() == 2 and IssuedToken.objects.count() == 2
    assert [d.enforced for d in _decisions(agent)] == ["allow", "allow"]
    events = AuditEvent.objects.filter(action="token.issue").order_by("id")
    assert [e.after["task"] for e in events] == [first["task_id"], second["task_id"]]
    call_command("audit_verify")
    assert "Audit chain intact" in capsys.readouterr().out


def test_it_refuses_once_the_grant_was_revoked_between_two_tokens(agent, get_token, oauth, sam):
    get_token(agent)
    for grant in agent.identity.grants.all():
        grant_revoke(actor=sam, grant=grant, reason="No longer needed")

    response = token_request(oauth, agent)

    assert response.json()["error"] == "invalid_scope"
    assert _decisions(agent)[-1].policy_ids == ["portal:no-live-grant"]
    assert IssuedToken.objects.count() == 1


def test_the_next_token_follows_a_replaced_grant(agent, get_token, oauth, sam, crm):
    get_token(agent)
    for grant in agent.identity.grants.all():
        grant_revoke(actor=sam, grant=grant, reason="Replaced by a shorter one")
    grant_create(actor=sam, identity=agent.identity, service=crm, scopes=["tickets:read"], ends_at=timezone.now() + timedelta(minutes=3))

    body = token_request(oauth, agent).json()

    assert 170 <= body["expires_in"] <= 180


def test_it_refuses_once_the_identity_was_suspended_between_two_tokens(agent, get_token, oauth, alice):
    get_token(agent)
    identity_suspend(actor=alice, identity=agent.identity, reason="Investigating")

    assert token_request(oauth, agent).json()["error"] == "unauthorized_client"
    assert _decisions(agent)[-1].policy_ids == ["portal:identity-not-active"]


def test_policy_denies_once_the_last_owner_left_between_two_tokens(agent, get_token, oauth, alice):
    get_token(agent)
    alice.is_active = False
    alice.save()

    assert token_request(oauth, agent).json()["error"] == "access_denied"
    assert "forbid-no-active-owner" in _decisions(agent)[-1].policy_ids


def test_policy_sees_a_lowered_sensitivity_ceiling_on_the_next_token(agent, get_token, oauth, alice):
    get_token(agent)  # the task's data is internal (2); the ceiling was confidential (3)
    identity_update(actor=alice, identity=agent.identity, expected_version=agent.identity.version, sensitivity_ceiling=1)

    assert token_request(oauth, agent).json()["error"] == "access_denied"
    assert "forbid-task-above-sensitivity-ceiling" in _decisions(agent)[-1].policy_ids


def test_policy_sees_a_service_made_more_sensitive_on_the_next_token(agent, get_token, oauth, sam, crm):
    get_token(agent)
    service_update(actor=sam, service=crm, sensitivity=4)

    assert token_request(oauth, agent).json()["error"] == "access_denied"
    assert "forbid-service-above-sensitivity-ceiling" in _decisions(agent)[-1].policy_ids


def test_it_refuses_once_the_service_was_withdrawn_between_two_tokens(agent, get_token, oauth, sam, crm):
    get_token(agent)
    service_update(actor=sam, service=crm, is_active=False)

    assert token_request(oauth, agent).json()["error"] == "invalid_target"
