"""Upgrading fills in the compromise record (migration tokens 0044) of signing keys reported
compromised before the keys page kept one, from the report's audit event."""

import pytest

from tests.upgrades import upgrade
from tokens.keys import signing_key_compromised, signing_keys_rotate
from tokens.models import KeyState, SigningKey

REASON = "Key file found in a public bucket"


@pytest.mark.django_db(transaction=True)
def test_upgrading_reads_each_reported_keys_record_from_its_event(sam, agent, get_token):
    signing_keys_rotate(actor=sam)
    reported = SigningKey.objects.get(state=KeyState.ACTIVE)
    get_token(agent)
    signing_key_compromised(actor=sam, key=reported, reason=REASON)
    retired_in_turn = SigningKey.objects.get(state=KeyState.ACTIVE)
    upgrade("tokens", "0043_end_tasks_left_open", "0044_signing_key_compromise")  # kept as before: no record on the key

    key = SigningKey.objects.get(pk=reported.pk)
    assert key.compromised_at is not None and key.compromised_by_label == "sam" and key.compromise_reason == REASON
    assert key.compromise_tokens_revoked == 1
    assert SigningKey.objects.get(pk=retired_in_turn.pk).compromised_at is None
