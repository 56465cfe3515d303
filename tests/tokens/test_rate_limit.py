"""An identity gets at most its token rate limit a minute; past it, 429 slow_down and Retry-After."""

import threading

import pytest
from django.db import connection
from django.test import Client

from inventory.services import identity_update
from nhiportal.audit.models import AuditEvent
from tokens.models import IssuedToken, TokenPace
from tokens.policy.models import PolicyDecision
from tokens.rate_limit import Slowed, admit, wait

from .conftest import token_request

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


def limited(agent, sam, per_minute):
    identity = agent.identity
    identity.refresh_from_db()
    identity_update(actor=sam, identity=identity, expected_version=identity.version, token_rate_per_minute=per_minute)


# The arithmetic, at chosen moments


def test_a_minutes_worth_may_come_at_once_then_one_each_interval():
    now, next_at = 1_000.0, None
    for _ in range(3):
        next_at = admit(3, next_at, now)
        assert next_at is not None
    assert admit(3, next_at, now) is None
    assert wait(3, next_at, now) == pytest.approx(20.0)  # 60 s / 3
    assert admit(3, next_at, now + 19.9) is None
    assert admit(3, next_at, now + 20.0) is not None


def test_an_identity_that_was_quiet_starts_with_a_full_minute_again():
    next_at = admit(2, admit(2, None, 0.0), 0.0)
    assert admit(2, next_at, 0.0) is None
    quiet = admit(2, next_at, 500.0)
    assert quiet == pytest.approx(530.0) and admit(2, quiet, 500.0) is not None


def test_a_process_records_one_refusal_a_minute_and_refuses_until_the_wait_is_over():
    clock = [100.0]
    slowed = Slowed(clock=lambda: clock[0])
    assert slowed.refused_for("a") is None
    assert slowed.refuse("a", 2.5) is True
    assert slowed.refused_for("a") == 3  # whole seconds, as Retry-After says
    clock[0] += 2.6
    assert slowed.refused_for("a") is None
    assert slowed.refuse("a", 1.0) is False  # recorded 2.6 s ago
    clock[0] += 60
    assert slowed.refuse("a", 1.0) is True


def test_a_process_looks_at_the_database_again_within_seconds_though_the_wait_is_longer():
    # Another process may have raised the limit meanwhile: its memory cannot be reached.
    clock = [100.0]
    slowed = Slowed(clock=lambda: clock[0])
    slowed.refuse("a", 40.0)
    clock[0] += Slowed.RECHECK_EVERY - 0.1
    assert slowed.refused_for("a") == 36  # Retry-After still tells the whole wait
    clock[0] += 0.1
    assert slowed.refused_for("a") is None


# The token endpoint


def test_past_its_limit_an_identity_gets_slow_down_and_its_owner_reads_why(agent, oauth, crm, grant, sam):
    grant(agent, crm, ["tickets:read"])
    limited(agent, sam, 3)
    for _ in range(3):
        assert token_request(oauth, agent).status_code == 200
    refused = token_request(oauth, agent)
    assert refused.status_code == 429 and refused["Cache-Control"] == "no-store"
    assert refused.json()["error"] == "slow_down" and "rate limit" in refused.json()["error_description"]
    assert 19 <= int(refused["Retry-After"]) <= 20
    assert IssuedToken.objects.count() == 3
    decision = PolicyDecision.objects.get(identity_id=agent.identity.pk, decision="deny")
    assert decision.policy_ids == ["portal:rate-limit"] and "more than its 3 tokens a minute" in decision.errors[0]
    event = AuditEvent.objects.get(action="identity.rate_limited")
    assert event.object_id == str(agent.identity.pk) and event.object_repr == f"{agent.identity.name} past 3 tokens a minute"
    assert event.actor_label == f"agent:{agent.client_id}" and event.after["limit_per_minute"] == 3

    # A flood is refused from memory: no transaction, no decision row per request.
    for _ in range(5):
        assert token_request(oauth, agent).status_code == 429
    assert PolicyDecision.objects.filter(identity_id=agent.identity.pk, decision="deny").count() == 1
    assert AuditEvent.objects.filter(action="identity.rate_limited").count() == 1
    assert IssuedToken.objects.count() == 3


def test_raising_the_limit_lets_a_refused_agent_in_at_once(agent, oauth, crm, grant, sam):
    grant(agent, crm, ["tickets:read"])
    limited(agent, sam, 1)
    assert token_request(oauth, agent).status_code == 200
    refused = token_request(oauth, agent)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 59
    limited(agent, sam, 600)
    for _ in range(3):
        assert token_request(oauth, agent).status_code == 200
    # A new limit starts from a full minute's allowance, lowered ones too: no more than it.
    limited(agent, sam, 2)
    assert [token_request(oauth, agent).status_code for _ in range(3)] == [200, 200, 429]


def test_the_limit_is_the_identitys_own_and_counts_its_exchanges(agent, make_agent, oauth, crm, grant, sam):
    other = make_agent(name="other-agent")
    for who in (agent, other):
        grant(who, crm, ["tickets:read", "tickets:write"])
    limited(agent, sam, 2)
    held = token_request(oauth, agent, scope="tickets:read tickets:write").json()["access_token"]
    exchange = {
        "grant_type": EXCHANGE, "subject_token": held, "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "scope": "tickets:read", "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    }
    assert oauth.post("/oauth/token", {**exchange, "client_assertion": agent.assertion()}).status_code == 200
    assert oauth.post("/oauth/token", {**exchange, "client_assertion": agent.assertion()}).status_code == 429
    assert token_request(oauth, agent).status_code == 429
    for _ in range(3):  # the other identity has the portal's default limit, untouched by this one's
        assert token_request(oauth, other).status_code == 200


def test_the_portals_default_applies_to_an_identity_without_its_own(agent, oauth, crm, grant, settings):
    grant(agent, crm, ["tickets:read"])
    settings.NHI = {**settings.NHI, "TOKEN_RATE_PER_MINUTE": 1}
    assert token_request(oauth, agent).status_code == 200
    assert TokenPace.objects.filter(identity_id=agent.identity.pk).exists()
    assert token_request(oauth, agent).status_code == 429


def test_without_any_limit_nothing_is_counted(agent, oauth, crm, grant, settings):
    grant(agent, crm, ["tickets:read"])
    settings.NHI = {**settings.NHI, "TOKEN_RATE_PER_MINUTE": 0}
    for _ in range(3):
        assert token_request(oauth, agent).status_code == 200
    assert not TokenPace.objects.exists()


def test_a_refusal_for_another_reason_spends_none_of_the_allowance(agent, oauth, crm, grant, sam):
    grant(agent, crm, ["tickets:read"])
    limited(agent, sam, 1)
    assert token_request(oauth, agent, scope="tickets:write").json()["error"] == "invalid_scope"
    assert token_request(oauth, agent).status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_get_exactly_the_limit_across_connections(agent, crm, grant, sam):
    grant(agent, crm, ["tickets:read"])
    limited(agent, sam, 5)
    assertions = [[agent.assertion() for _ in range(2)] for _ in range(20)]
    start = threading.Barrier(len(assertions))
    statuses = []

    def ask(mine):
        client = Client()
        try:
            start.wait()
            statuses.extend(token_request(client, agent, assertion=assertion).status_code for assertion in mine)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(mine,)) for mine in assertions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(set(statuses)) == [200, 429] and statuses.count(200) == 5
    assert IssuedToken.objects.filter(identity_id=agent.identity.pk).count() == 5


def test_reaching_the_limit_counts_in_the_identitys_risk_for_a_week(agent, oauth, crm, grant, sam):
    from datetime import timedelta

    from django.utils import timezone

    from tokens.posture import posture

    grant(agent, crm, ["tickets:read"])
    limited(agent, sam, 1)
    assert posture(agent.identity)["factors"] == []
    token_request(oauth, agent)
    assert token_request(oauth, agent).status_code == 429
    (factor,) = posture(agent.identity)["factors"]
    assert factor.key == "rate_limited" and factor.label == "Asked for tokens past its rate limit in the last 7 days"
    TokenPace.objects.filter(identity_id=agent.identity.pk).update(slowed_at=timezone.now() - timedelta(days=8))
    assert posture(agent.identity)["factors"] == []


def test_owners_are_mailed_once_a_day_when_their_identity_reaches_its_limit(agent, oauth, crm, grant, sam, alice, mailoutbox):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    grant(agent, crm, ["tickets:read"])
    limited(agent, sam, 1)
    token_request(oauth, agent)
    assert token_request(oauth, agent).status_code == 429
    call_command("notify_rate_limited", stdout=open("/dev/null", "w"))
    (mail,) = mailoutbox
    assert mail.to == [alice.email] and "reached its token rate limit" in mail.subject
    assert f"{agent.identity.name}: last refused " in mail.body and "its limit is now 1 token a minute" in mail.body and f"/identities/{agent.identity.pk}/" in mail.body
    assert AuditEvent.objects.get(action="identities.notify_rate_limited").after == {"identities": 1, "people": 1}

    call_command("notify_rate_limited", stdout=open("/dev/null", "w"))
    assert len(mailoutbox) == 1  # told already today
    TokenPace.objects.filter(identity_id=agent.identity.pk).update(told_at=timezone.now() - timedelta(days=2))
    call_command("notify_rate_limited", stdout=open("/dev/null", "w"))
    assert len(mailoutbox) == 2  # refused within the day, told more than a day ago
    TokenPace.objects.filter(identity_id=agent.identity.pk).update(
        slowed_at=timezone.now() - timedelta(days=3), told_at=timezone.now() - timedelta(days=2),
    )
    call_command("notify_rate_limited", stdout=open("/dev/null", "w"))
    assert len(mailoutbox) == 2  # nothing new to tell
