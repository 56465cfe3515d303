"""Revoking follows the chains that start at what it revokes, and only those: every generation
of exchanges below a revoked token, every sub-task under those it ends, every agent holding
one; never the exchanges of another token that happened to be revoked in the same instant for
the same reason. The confirmation counts what then goes. Through the real token endpoint,
with real signatures."""

import pytest
from django.utils import timezone

from tokens.delegations import delegation_create
from tokens.ending_previews import task_ending, token_revoking
from tokens.models import IssuedToken, Task
from tokens.revocation import Revoked, revoke_matching, task_end, token_revoke
from tokens.services import service_update

from .conftest import new_private_key, public_jwk, token_request
from .test_ending_access_races import _all_inactive, _requesting_tokens_while
from .test_introspection import ServiceClient
from .test_revocation_chains import held, join, jti, live, orchestrator  # noqa: F401  (fixtures)
from .test_token_exchange import exchange, unverified

DEPTH = 6


def narrowed(oauth, agent, access_token: str, depth: int = DEPTH) -> list[dict]:
    """The agent narrows the token into a sub-task, that one's into another, `depth` deep."""
    hands = []
    for _ in range(depth):
        response = exchange(oauth, agent, access_token, scope="tickets:read")
        assert response.status_code == 200, response.content
        hands.append(response.json())
        access_token = hands[-1]["access_token"]
    return hands


def row(token: dict) -> IssuedToken:
    return IssuedToken.objects.get(jti=unverified(token["access_token"])["jti"])


def test_a_token_revoked_in_the_same_instant_for_the_same_reason_keeps_its_own_exchanges(oauth, orchestrator, get_token):
    mine, theirs = (get_token(orchestrator, scope="tickets:read", ttl="600") for _ in range(2))
    my_sub, their_sub = (exchange(oauth, orchestrator, token["access_token"], scope="tickets:read").json() for token in (mine, theirs))
    now = timezone.now()
    # Taken elsewhere at this very instant for the same words: neither says where a token came from.
    IssuedToken.objects.filter(pk=row(theirs).pk).update(revoked_at=now, revoke_reason="Leaked")

    revoked = revoke_matching(IssuedToken.objects.filter(pk=row(mine).pk), label="test", reason="Leaked", now=now)

    assert revoked == Revoked(tokens=2, tasks_ended=1)
    assert not live(row(my_sub).jti) and Task.objects.get(pk=my_sub["task_id"]).ended_at is not None
    assert live(row(their_sub).jti) and Task.objects.get(pk=their_sub["task_id"]).ended_at is None


def test_revoking_a_token_takes_every_generation_exchanged_from_it_as_its_confirmation_counted(oauth, alice, orchestrator, held):
    hands = narrowed(oauth, orchestrator, held["access_token"])
    joined = jti(join(oauth, orchestrator, hands[-1]["task_id"]))
    promised = token_revoking(row(held))

    revoked = token_revoke(token=row(held), actor=alice, reason="Leaked")

    assert promised == {"subtasks": DEPTH, "others": DEPTH + 1}
    assert revoked == Revoked(tokens=DEPTH + 2, tasks_ended=DEPTH)
    assert not live(joined) and not any(live(row(hand).jti) for hand in hands)
    sub_tasks = Task.objects.filter(pk__in=[hand["task_id"] for hand in hands])
    assert set(sub_tasks.values_list("end_reason", flat=True)) == {"Sub-task of a revoked token: Leaked"}
    assert Task.objects.get(pk=held["task_id"]).ended_at is None  # its own task goes on


def test_a_hand_given_back_midway_still_leaves_every_sub_task_below_it_to_end_as_counted(oauth, alice, orchestrator, held):
    hands = narrowed(oauth, orchestrator, held["access_token"])
    joined = jti(join(oauth, orchestrator, hands[-1]["task_id"]))
    # Revoked before revocations followed exchanges: the tokens below it were left live.
    midway = row(hands[2])
    IssuedToken.objects.filter(pk=midway.pk).update(revoked_at=midway.issued_at, revoke_reason="Earlier")
    promised = token_revoking(row(held))

    revoked = token_revoke(token=row(held), actor=alice, reason="Leaked")

    # Itself, the two hands above the one given back, and below it the three hands and the join
    # reached through their sub-tasks.
    assert promised == {"subtasks": DEPTH, "others": DEPTH}
    assert revoked == Revoked(tokens=DEPTH + 1, tasks_ended=DEPTH)
    assert not live(joined) and not IssuedToken.objects.filter(revoked_at__isnull=True).exists()
    assert row(hands[2]).revoke_reason == "Earlier"
    assert {row(hand).revoke_reason for hand in hands[3:]} == {"Sub-task of a revoked token: Leaked"}


def test_ending_a_task_ends_every_generation_of_sub_tasks_under_it_as_counted(oauth, alice, orchestrator, held):
    hands = narrowed(oauth, orchestrator, held["access_token"])
    jti(join(oauth, orchestrator, hands[3]["task_id"]))
    task = Task.objects.get(pk=held["task_id"])
    promised = task_ending(task)

    tokens = task_end(task=task, actor=alice, reason="Done")

    assert promised == {"subtasks": DEPTH, "delegated": 0, "tokens": DEPTH + 2}
    assert tokens == DEPTH + 2
    assert not Task.objects.filter(ended_at__isnull=True).exists()
    assert not IssuedToken.objects.filter(revoked_at__isnull=True).exists()
    assert Task.objects.get(pk=held["task_id"]).end_reason == "Done"
    assert set(Task.objects.exclude(pk=held["task_id"]).values_list("end_reason", flat=True)) == {"Done"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_revoking_the_subject_token_while_a_third_hand_joins_its_sub_task_leaves_none_of_its_tokens_live(
    oauth, make_agent, get_token, alice, bob, sam, crm, grant,
):
    # Three delegations down, the last hand's join by task_id locks only its own row: revoking
    # the orchestrator's token finds it, three exchanges deep, and holds it too.
    hands = [make_agent(owner, name=name) for owner, name in [(alice, "orchestrator"), (bob, "first"), (bob, "second"), (bob, "third")]]
    for agent in hands[1:]:
        grant(agent, crm, ["tickets:read"])
    held = get_token(hands[0], scope="tickets:read", ttl="600")
    token = held["access_token"]
    for principal, delegate in zip(hands, hands[1:]):
        delegation_create(actor=alice if principal is hands[0] else bob, principal=principal.identity, delegate_id=delegate.identity.pk, reason="load")
        exchanged = exchange(oauth, delegate, token, scope="tickets:read")
        assert exchanged.status_code == 200, exchanged.content
        token, sub_task = exchanged.json()["access_token"], exchanged.json()["task_id"]
    third = hands[-1]
    service_key = new_private_key()
    crm_server = ServiceClient(service_update(actor=sam, service=crm, introspection_jwk=public_jwk(service_key)), service_key)

    issued, statuses = _requesting_tokens_while(
        third, lambda: token_revoke(token=row(held), actor=alice, reason="Leaked"),
        ask=lambda client, assertion: token_request(client, third, assertion=assertion, task_id=sub_task, authorization_details=None),
    )

    assert issued and set(statuses) <= {200, 400}
    assert Task.objects.get(pk=sub_task).ended_at is not None
    assert not IssuedToken.objects.filter(task_id=sub_task, revoked_at__isnull=True).exists()
    assert _all_inactive(crm_server, issued)


@pytest.mark.postgres("the JIT setting is PostgreSQL's")
def test_walks_turn_just_in_time_compilation_off_only_while_they_run(oauth, orchestrator, get_token):
    # The planner costs a recursive walk so high that compiling it took seconds a statement.
    from django.db import connection, transaction

    token = get_token(orchestrator)
    narrowed(oauth, orchestrator, token["access_token"], depth=2)

    def jit() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('jit')")
            return cursor.fetchone()[0]

    with transaction.atomic():
        before = jit()
        assert token_revoking(row(token))["others"] == 2
        assert jit() == before
        revoke_matching(IssuedToken.objects.filter(pk=row(token).pk), label="test", reason="test")
        assert jit() == before
