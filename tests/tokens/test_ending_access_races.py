"""Ending access while agents request tokens: once the change commits, no token it missed is active.

Issuance holds the identity row (FOR UPDATE) while it decides and writes, and checks there
that the credential which signed the request is still enabled; offboarding and disabling a
credential lock the same row first. An exchange for another identity (a delegation) holds
both rows, and ending the delegation locks the delegate's. So a token is either written before the change, and
revoked by it, or its issuance waits and then sees the change (an offboarded identity, a
disabled key), even though each worker remembers which credential a kid names.
"""

import threading

import jwt
import pytest
from django.db import connection
from django.test import Client

from inventory.services import identity_offboard
from tokens.delegations import delegation_create, delegation_revoke
from tokens.revocation import token_revoke
from tokens.credentials import credential_disable
from tokens.models import IssuedToken, WorkloadCredential
from tokens.services import service_update

from .conftest import new_private_key, public_jwk, token_request
from .test_token_exchange import EXCHANGE, ACCESS_TOKEN
from .test_introspection import ServiceClient

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 20
REQUESTS_PER_THREAD = 5



@pytest.fixture
def crm_server(crm, sam):
    service_key = new_private_key()
    return ServiceClient(service_update(actor=sam, service=crm, introspection_jwk=public_jwk(service_key)), service_key)


def _requesting_tokens_while(agent, end_access, ask=None) -> tuple[list[str], list[int]]:
    """THREADS clients ask for tokens (token_request, or ask(client, assertion)); once the first
    arrives, end_access() runs. Returns the tokens issued and every status code."""
    ask = ask or (lambda client, assertion: token_request(client, agent, assertion=assertion))
    assertions = [[agent.assertion() for _ in range(REQUESTS_PER_THREAD)] for _ in range(THREADS)]
    start = threading.Barrier(THREADS + 1)
    first_token = threading.Event()
    issued, statuses = [], []

    def request_tokens(mine):
        client = Client()
        try:
            start.wait()
            for assertion in mine:
                response = ask(client, assertion)
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


def test_a_signing_key_reported_compromised_under_load_signs_no_live_token(agent, crm, grant, sam, crm_server):
    from tokens.keys import active_signer, signing_key_compromised
    from tokens.models import SigningKey

    grant(agent, crm, ["tickets:read"])
    compromised = active_signer().kid  # every thread's process (this one) holds it cached

    issued, statuses = _requesting_tokens_while(
        agent, lambda: signing_key_compromised(actor=sam, key=SigningKey.objects.get(kid=compromised), reason="Leaked")
    )

    assert issued and set(statuses) == {200}  # agents carry on, with the next key
    assert not IssuedToken.objects.filter(signing_kid=compromised, revoked_at__isnull=True).exists()
    assert _all_inactive(crm_server, [t for t in issued if jwt.get_unverified_header(t)["kid"] == compromised])
    assert IssuedToken.objects.exclude(signing_kid=compromised).exists()


@pytest.mark.parametrize("ending", ["delegation", "orchestrators token"])
def test_ending_a_delegation_or_its_source_under_load_leaves_no_active_delegated_token(
    make_agent, get_token, alice, bob, crm, grant, crm_server, ending
):
    orchestrator, helper = make_agent(alice, name="orchestrator"), make_agent(bob, name="helper")
    grant(helper, crm, ["tickets:read"])
    held = get_token(orchestrator, scope="tickets:read", ttl="600")["access_token"]
    lent = delegation_create(actor=alice, principal=orchestrator.identity, delegate_id=helper.identity.pk, reason="load")
    source = IssuedToken.objects.get(identity=orchestrator.identity)

    def exchange(client, assertion):
        return client.post("/oauth/token", {
            "grant_type": EXCHANGE, "subject_token": held, "subject_token_type": ACCESS_TOKEN,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": assertion,
        })

    def end():
        if ending == "delegation":
            delegation_revoke(actor=alice, delegation=lent, reason="Pilot over")
        else:
            token_revoke(token=source, actor=alice, reason="Leaked")

    issued, statuses = _requesting_tokens_while(helper, end, ask=exchange)

    assert issued, "some tokens were exchanged before the end"
    assert set(statuses) <= {200, 400}
    assert not IssuedToken.objects.filter(identity=helper.identity, revoked_at__isnull=True).exists()
    assert _all_inactive(crm_server, issued)


def test_revoking_the_first_token_of_a_delegation_chain_under_load_leaves_none_of_its_line_active(
    make_agent, get_token, alice, bob, crm, grant, crm_server
):
    # The orchestrator lends to a helper, which hands on to a second helper (act nests). The
    # second helper's exchanges lock every identity the token passed through, so revoking the
    # orchestrator's token (which locks only the orchestrator) waits for them, or they for it.
    orchestrator, helper, second = make_agent(alice, name="orchestrator"), make_agent(bob, name="helper"), make_agent(bob, name="second")
    for agent in (helper, second):
        grant(agent, crm, ["tickets:read"])
    held = get_token(orchestrator, scope="tickets:read", ttl="600")["access_token"]
    delegation_create(actor=alice, principal=orchestrator.identity, delegate_id=helper.identity.pk, reason="hand off")
    delegation_create(actor=bob, principal=helper.identity, delegate_id=second.identity.pk, reason="hand on")

    def exchange(client, assertion, subject):
        return client.post("/oauth/token", {
            "grant_type": EXCHANGE, "subject_token": subject, "subject_token_type": ACCESS_TOKEN,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": assertion,
        })

    handed = exchange(Client(), helper.assertion(), subject=held)
    assert handed.status_code == 200, handed.content
    source = IssuedToken.objects.get(identity=orchestrator.identity)

    issued, statuses = _requesting_tokens_while(
        second, lambda: token_revoke(token=source, actor=alice, reason="Leaked"),
        ask=lambda client, assertion: exchange(client, assertion, subject=handed.json()["access_token"]),
    )

    assert issued, "some tokens were exchanged before the revocation"
    assert set(statuses) <= {200, 400}
    assert not IssuedToken.objects.filter(revoked_at__isnull=True).exists()
    assert _all_inactive(crm_server, issued)
