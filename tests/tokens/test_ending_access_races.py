"""Ending access while agents request tokens: once the change commits, no token it missed is active.

Issuance holds the identity row (FOR UPDATE) while it decides and writes, and checks there
that the credential which signed the request is still enabled; offboarding and disabling a
credential lock the same row first. So a token is either written before the change, and
revoked by it, or its issuance waits and then sees the change (an offboarded identity, a
disabled key), even though each worker remembers which credential a kid names.
"""

import threading

import pytest
from django.db import connection
from django.test import Client

from inventory.services import identity_offboard
from tokens.credentials import credential_disable
from tokens.models import IssuedToken, WorkloadCredential
from tokens.services import service_update

from .conftest import new_private_key, public_jwk, token_request
from .test_introspection import ServiceClient

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 20
REQUESTS_PER_THREAD = 5


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serializes every write anyway")


@pytest.fixture
def crm_server(crm, sam):
    service_key = new_private_key()
    return ServiceClient(service_update(actor=sam, service=crm, introspection_jwk=public_jwk(service_key)), service_key)


def _requesting_tokens_while(agent, end_access) -> tuple[list[str], list[int]]:
    """THREADS clients ask for tokens; once the first arrives, end_access() runs. Returns
    the tokens issued and every status code."""
    assertions = [[agent.assertion() for _ in range(REQUESTS_PER_THREAD)] for _ in range(THREADS)]
    start = threading.Barrier(THREADS + 1)
    first_token = threading.Event()
    issued, statuses = [], []

    def request_tokens(mine):
        client = Client()
        try:
            start.wait()
            for assertion in mine:
                response = token_request(client, agent, assertion=assertion)
                statuses.append(response.status_code)
                if response.status_code == 200:
                    issued.append(response.json()["access_token"])
                    first_token.set()
        finally:
            connection.close()

    workers = [threading.Thread(target=request_tokens, args=(mine,)) for mine in assertions]
    for worker in workers:
        worker.start()
    start.wait()
    first_token.wait(timeout=30)
    end_access()
    for worker in workers:
        worker.join(timeout=60)
    return issued, statuses


def _all_inactive(crm_server, tokens) -> bool:
    client = Client()
    return all(crm_server.introspect(client, token).json() == {"active": False} for token in tokens)


def test_offboarding_under_load_leaves_no_active_token(agent, crm, grant, alice, crm_server):
    grant(agent, crm, ["tickets:read"])

    issued, statuses = _requesting_tokens_while(
        agent, lambda: identity_offboard(actor=alice, identity=agent.identity, reason="Compromised")
    )

    assert issued, "some tokens were issued before the offboarding"
    assert set(statuses) <= {200, 400, 401}
    assert not IssuedToken.objects.filter(revoked_at__isnull=True).exists()
    assert _all_inactive(crm_server, issued)


def test_disabling_a_credential_under_load_leaves_no_active_token_of_it(agent, crm, grant, alice, crm_server):
    grant(agent, crm, ["tickets:read"])
    credential = WorkloadCredential.objects.get(kid=agent.kid)

    issued, statuses = _requesting_tokens_while(
        agent, lambda: credential_disable(actor=alice, credential=credential, reason="Key leaked")
    )

    assert issued, "some tokens were issued before the key was disabled"
    assert 401 in statuses and set(statuses) <= {200, 401}
    assert not IssuedToken.objects.filter(credential=credential, revoked_at__isnull=True).exists()
    assert _all_inactive(crm_server, issued)
