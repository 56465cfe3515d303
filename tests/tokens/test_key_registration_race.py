"""Two owners pasting the same public key at the same moment: one registration wins, the other
is refused, never both (tokens of two identities sharing a key could not be told apart)."""

import json

import pytest

from tests.at_once import at_once
from tokens.models import WorkloadCredential

from .conftest import new_private_key, public_jwk

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROUNDS = 8



def test_the_same_key_registered_on_two_identities_at_once_lands_on_one(alice, bob, make_identity):
    for _ in range(ROUNDS):
        alices, bobs = make_identity(alice, credential=False), make_identity(bob, credential=False)
        key = json.dumps(public_jwk(new_private_key()))
        statuses = at_once(
            (alice, f"/identities/{alices.pk}/credentials/new-key/", {"jwk": key}),
            (bob, f"/identities/{bobs.pk}/credentials/new-key/", {"jwk": key}),
        )
        assert sorted(statuses) == [302, 400]  # one kept (and on to its page), one refused next to the field
        assert WorkloadCredential.objects.filter(identity__in=[alices, bobs]).count() == 1
