"""Offboarding while agents request tokens: once offboarding commits, no token it missed is active.

Issuance holds the identity row (FOR UPDATE) while it decides and writes; offboarding locks
the same row first. So a token is either written before offboarding, and revoked by it, or
its issuance waits and then sees an offboarded identity (and, by then, a disabled key).
"""

import threading

import pytest
from django.db import connection
from django.test import Client

from inventory.services import identity_offboard
from tokens.models import IssuedToken
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


def test_offboarding_under_load_leaves_no_active_token(agent, crm, grant, alice, sam):
    grant(agent, crm, ["tickets:read"])
    service_key = new_private_key()
    crm_server = ServiceClient(service_update(actor=sam, service=crm, introspection_jwk=public_jwk(service_key)), service_key)
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
    identity_offboard(actor=alice, identity=agent.identity, reason="Compromised")
    for worker in workers:
        worker.join(timeout=60)

    assert issued, "some tokens were issued before the offboarding"
    assert set(statuses) <= {200, 400, 401}
    assert not IssuedToken.objects.filter(revoked_at__isnull=True).exists()
    client = Client()
    for token in issued:
        assert crm_server.introspect(client, token).json() == {"active": False}
