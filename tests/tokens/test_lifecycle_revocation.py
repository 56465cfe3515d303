"""Whatever ends access (the identity, a grant, a credential, a service) revokes live tokens in the same transaction."""

import pytest
from django.core.exceptions import ValidationError

from inventory.services import identity_activate, identity_offboard, identity_suspend
from nhiportal.audit.models import AuditEvent
from tokens.credentials import credential_add_jwk, credential_disable
from tokens.models import Grant, IssuedToken, Task, WorkloadCredential
from tokens.services import grant_revoke, service_update

from .conftest import Agent, new_private_key, public_jwk, token_request


def live():
    return IssuedToken.objects.filter(revoked_at__isnull=True)


def test_it_revokes_tokens_on_suspension(agent, get_token, alice):
    get_token(agent)
    identity_suspend(actor=alice, identity=agent.identity, reason="Odd traffic")
    row = IssuedToken.objects.get()
    assert row.revoked_at is not None and row.revoked_by_label == "alice"
    assert row.revoke_reason == "Identity suspended: Odd traffic"
    # Suspension keeps grants and credentials: reactivation resumes work.
    assert Grant.objects.get().revoked_at is None and WorkloadCredential.objects.get().enabled


def test_it_revokes_everything_on_offboarding(agent, get_token, alice):
    get_token(agent)
    identity_offboard(actor=alice, identity=agent.identity, reason="Project over")

    assert not live().exists()
    assert Task.objects.get().ended_at is not None
    assert Grant.objects.get().revoked_at is not None
    assert not WorkloadCredential.objects.filter(enabled=True).exists()
    # One state change, one audit event: the cascade is recorded on the rows themselves.
    assert AuditEvent.objects.filter(identity_id=agent.identity.pk, action__startswith="identity.offboard").count() == 1


def test_an_offboarded_identity_cannot_authenticate(agent, get_token, oauth, alice):
    get_token(agent)
    identity_offboard(actor=alice, identity=agent.identity, reason="Project over")
    assert token_request(oauth, agent).json()["error"] == "invalid_client"


def test_revoking_a_grant_revokes_the_tokens_that_relied_on_it(agent, get_token, crm, grant, sam):
    reads = grant(agent, crm, ["tickets:read"])
    writes = grant(agent, crm, ["tickets:write"])
    read_only = get_token(agent, scope="tickets:read")
    read_write = get_token(agent, scope="tickets:read tickets:write")

    grant_revoke(actor=sam, grant=writes, reason="No longer needed")

    assert IssuedToken.objects.get(task_id=read_write["task_id"]).revoked_at is not None
    assert IssuedToken.objects.get(task_id=read_only["task_id"]).revoked_at is None
    assert AuditEvent.objects.filter(action="grant.revoke").count() == 1
    assert reads.pk  # still live


def test_a_grant_revocation_needs_a_reason(agent, crm, grant, sam):
    g = grant(agent, crm, ["tickets:read"])
    with pytest.raises(ValidationError):
        grant_revoke(actor=sam, grant=g, reason=" ")


def test_disabling_a_credential_revokes_only_its_tokens(agent, get_token, oauth, alice):
    second_key = new_private_key()
    second = credential_add_jwk(actor=alice, identity=agent.identity, jwk=public_jwk(second_key, kid="second"))
    first_token = get_token(agent)
    rotated = Agent(identity=agent.identity, private_key=second_key, kid="second")
    second_token = token_request(oauth, rotated).json()

    credential_disable(actor=alice, credential=WorkloadCredential.objects.get(kid=agent.kid), reason="Rotated")

    assert IssuedToken.objects.get(task_id=first_token["task_id"]).revoked_at is not None
    assert IssuedToken.objects.get(task_id=second_token["task_id"]).revoked_at is None
    assert token_request(oauth, agent).status_code == 401
    assert token_request(oauth, rotated).status_code == 200
    assert second.enabled


def test_deactivating_a_service_revokes_its_tokens(agent, get_token, crm, sam):
    get_token(agent)
    service_update(actor=sam, service=crm, is_active=False)
    assert not live().exists()


def test_removing_a_scope_revokes_the_tokens_carrying_it(agent, get_token, crm, sam):
    keep = get_token(agent, scope="tickets:read")
    drop = get_token(agent, scope="tickets:write")
    service_update(actor=sam, service=crm, scopes=[{"name": "tickets:read"}, {"name": "customers:export", "consequential": True}])
    assert IssuedToken.objects.get(task_id=drop["task_id"]).revoked_at is not None
    assert IssuedToken.objects.get(task_id=keep["task_id"]).revoked_at is None


def test_activation_needs_an_enabled_credential(make_identity, alice):
    from inventory.services import TransitionRefused

    identity = make_identity(alice, credential=False)
    with pytest.raises(TransitionRefused) as refused:
        identity_activate(actor=alice, identity=identity)
    assert refused.value.missing == ["a workload credential"]
    credential_add_jwk(actor=alice, identity=identity, jwk=public_jwk(new_private_key()))
    assert identity_activate(actor=alice, identity=identity).status == "active"
