"""A key disabled (reported leaked, say) that still signs requests is news: its holder is still
trying. The agent hears invalid_client as for any unknown key; the owners read it on the
credential, and security gets one credential.disabled_key_used event a minute (webhooks push it)."""

import pytest

from nhiportal.audit.models import AuditEvent
from tokens.credentials import credential_disable
from tokens.models import WorkloadCredential

from .conftest import new_private_key, token_request


def disabled(agent, alice):
    credential = WorkloadCredential.objects.get(identity=agent.identity, kid=agent.kid)
    credential_disable(actor=alice, credential=credential, reason="Key found in a public repository.")
    return credential


def refused(oauth, agent, **kwargs):
    response = token_request(oauth, agent, **kwargs)
    assert response.status_code == 401 and response.json() == {"error": "invalid_client", "error_description": "Unknown client or key."}


@pytest.mark.parametrize("used_before", [False, True], ids=["never used in this process", "used, so its key is remembered"])
def test_a_disabled_key_that_signs_a_request_is_noted_and_told_once_a_minute(oauth, agent, alice, grant, crm, used_before):
    grant(agent, crm, ["tickets:read"])
    if used_before:
        assert token_request(oauth, agent).status_code == 200
    credential = disabled(agent, alice)

    refused(oauth, agent)
    refused(oauth, agent)

    credential.refresh_from_db()
    assert credential.refused_at > credential.disabled_at
    assert credential.refusal.startswith("Its disabled key signed a request from 127.0.0.1")
    (event,) = AuditEvent.objects.filter(action="credential.disabled_key_used")
    assert event.identity_id == agent.identity.pk and event.after["address"] == "127.0.0.1"
    assert event.after["disable_reason"] == "Key found in a public repository."


def test_a_request_naming_a_disabled_key_but_signed_by_another_proves_nothing_and_is_not_noted(oauth, agent, alice):
    credential = disabled(agent, alice)
    response = oauth.post("/oauth/token", {
        "grant_type": "client_credentials", "resource": "https://crm.example.com",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": agent.assertion(key=new_private_key()),
    })
    assert response.status_code == 401
    credential.refresh_from_db()
    assert credential.refused_at is None
    assert not AuditEvent.objects.filter(action="credential.disabled_key_used").exists()


def test_the_owner_reads_it_on_the_identity_page_and_the_outsider_reads_nothing(oauth, agent, alice, charlie, client_for, grant, crm):
    grant(agent, crm, ["tickets:read"])
    disabled(agent, alice)
    refused(oauth, agent)
    page = client_for(alice).get(f"/identities/{agent.identity.pk}/credentials-panel/")
    assert page.status_code == 200 and b"used after it was disabled" in page.content
    assert client_for(charlie).get(f"/identities/{agent.identity.pk}/credentials-panel/").status_code == 404
