"""Two owners pasting the same public key at the same moment: one registration wins, the other
is refused, never both (tokens of two identities sharing a key could not be told apart)."""

import threading

import pytest
from django.db import connection
from django.test import Client

from tokens.models import WorkloadCredential

from .conftest import new_private_key, public_jwk

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CREDENTIALS = "/api/v1/credentials/"
ROUNDS = 8


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serializes every write anyway")


def _register_at_once(pairs, jwk) -> list[int]:
    """Each (person, identity) registers jwk, all released together; their status codes."""
    start = threading.Barrier(len(pairs))
    statuses = []

    def register(person, identity):
        client = Client()
        client.force_login(person)
        try:
            start.wait()
            response = client.post(CREDENTIALS, {"identity": str(identity.pk), "jwk": jwk}, content_type="application/json")
            statuses.append(response.status_code)
        finally:
            connection.close()

    workers = [threading.Thread(target=register, args=pair) for pair in pairs]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return statuses


def test_the_same_key_registered_on_two_identities_at_once_lands_on_one(alice, bob, make_identity):
    for _ in range(ROUNDS):
        alices, bobs = make_identity(alice, credential=False), make_identity(bob, credential=False)
        key = public_jwk(new_private_key())
        statuses = _register_at_once([(alice, alices), (bob, bobs)], key)
        assert sorted(statuses) == [201, 400]
        assert WorkloadCredential.objects.filter(identity__in=[alices, bobs]).count() == 1
