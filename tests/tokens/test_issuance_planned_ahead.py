"""A client's next token is planned before the write lock, on the facts its last token was
decided on (tokens/issuance.py, _run). Whatever changed in between must decide it instead."""

from datetime import datetime, timedelta, timezone as dt_timezone

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.services import identity_suspend, identity_update
from nhiportal.audit.models import AuditEvent
from tokens.issuance import plan_timely
from tokens.models import IssuedToken, Task
from tokens.policy.models import PolicyDecision
from tokens.services import grant_create, grant_revoke, service_update

from .conftest import token_request


def _decisions(agent):
    return list(PolicyDecision.objects.filter(identity_id=agent.identity.pk).order_by("id"))


def _under_the_lock(queries) -> list[str]:
    """What the request read after reading its identity's facts under the lock: 'policy' for the
    active policy version, 'service' for the service row, in order."""
    sqls = [q["sql"] for q in queries]
    start = next(i for i, sql in enumerate(sqls) if 'FROM "inventory_aiidentity" i' in sql)
    names = {'"policy_policyversion"': "policy", 'FROM "tokens_service"': "service"}
    return [name for sql in sqls[start:] for marker, name in names.items() if marker in sql]


def test_the_next_token_is_planned_ahead_and_only_confirmed_under_the_lock(make_agent, get_token):
    # A client's first token is decided under the lock: the service is read, then policy asked.
    # Its next was decided before the lock; under it, the plan is confirmed against the active
    # policy first, then the service. (The tests read the policy afresh, POLICY_CACHE_SECONDS 0.)
    agent = make_agent()
    with CaptureQueriesContext(connection) as first:
        get_token(agent)
    with CaptureQueriesContext(connection) as second:
        get_token(agent)
    assert _under_the_lock(first) == ["service", "policy"]
    assert _under_the_lock(second) == ["policy", "service"]


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


def test_policy_allowed_but_no_time_left_records_both(agent, oauth, sam, crm):
    grant_create(actor=sam, identity=agent.identity, service=crm, scopes=["tickets:read"], ends_at=timezone.now() + timedelta(milliseconds=900))

    assert token_request(oauth, agent).json()["error"] == "invalid_scope"
    allowed, refused = _decisions(agent)
    assert allowed.enforced == "allow" and (refused.enforced, refused.policy_ids) == ("deny", ["portal:no-time-left"])


NOON = datetime(2026, 11, 30, 12, 0, 0, tzinfo=dt_timezone.utc)


def test_a_plan_is_used_only_moments_after_it_was_made():
    exp = int(NOON.timestamp()) + 300
    assert plan_timely(NOON, exp, NOON + timedelta(milliseconds=200))
    assert not plan_timely(NOON, exp, NOON + timedelta(milliseconds=300))
    assert not plan_timely(NOON, exp, NOON - timedelta(milliseconds=1))


def test_a_plan_is_not_used_across_an_hour_policies_may_read():
    before_one = NOON + timedelta(minutes=59, seconds=59, milliseconds=900)
    assert not plan_timely(before_one, int(before_one.timestamp()) + 300, before_one + timedelta(milliseconds=200))


def test_a_plan_is_not_used_for_a_token_with_less_than_a_second_left():
    assert not plan_timely(NOON, int(NOON.timestamp()) + 1, NOON + timedelta(milliseconds=100))
