"""manage.py audit_find_secrets: events that hold a pasted secret are named, the secret is not."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from nhiportal.audit.services import audit_record, system_actor


def run() -> str:
    out = io.StringIO()
    call_command("audit_find_secrets", stdout=out)
    return out.getvalue()


def test_a_clean_log_passes(agent):
    assert "No audit event holds anything secret-shaped." in run()


def test_an_event_holding_a_token_or_a_private_key_is_named_without_the_secret(get_token, agent, alice):
    token = get_token(agent)["access_token"]
    with transaction.atomic():
        audit_record(actor=alice, action="identity.update", obj=agent.identity, reason=f"pasted by mistake: {token}")
        audit_record(actor=system_actor("tests"), action="trust_domain.update", obj=agent.identity,
                     after={"jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AAAA"}]}})
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 audit event"):
        call_command("audit_find_secrets", stdout=out)
    listed = out.getvalue()
    assert "identity.update" in listed and ": reason" in listed and "trust_domain.update" in listed and ": after" in listed
    assert token not in listed and token.split(".")[1] not in listed
