import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from nhiportal.audit.models import AuditEvent
from tokens.models import IssuedToken, Task, WorkloadCredential
from tokens.services import trust_domain_create

from .conftest import new_private_key, public_jwk


def panels(identity):
    return (f"/identities/{identity.pk}/credentials-panel/", f"/identities/{identity.pk}/access-panel/")


@pytest.mark.parametrize("person", ["alice", "bob", "rita", "carol", "sam"])
def test_people_who_see_the_identity_see_its_panels(request, client_for, make_identity, alice, bob, person):
    identity = make_identity(alice, backups=[bob])
    client = client_for(request.getfixturevalue(person))
    for url in panels(identity):
        assert client.get(url, HTTP_HX_REQUEST="true").status_code == 200, url


def test_an_outsider_gets_404_for_every_identity_page(client_for, charlie, agent, get_token):
    held = get_token(agent)
    identity = agent.identity
    credential = WorkloadCredential.objects.get()
    token = IssuedToken.objects.get()
    client = client_for(charlie)
    for url in panels(identity) + (
        f"/identities/{identity.pk}/credentials/new-key/",
        f"/identities/{identity.pk}/credentials/new-spiffe/",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        f"/identities/{identity.pk}/credentials/{credential.pk}/disable/",
        f"/identities/{identity.pk}/tasks/{held['task_id']}/end/",
        f"/identities/{identity.pk}/tokens/{token.pk}/revoke/",
        f"/identities/{identity.pk}/credentials/new-key/",
    ):
        assert client.post(url, {"jwk": "{}"}).status_code == 404, url
    assert WorkloadCredential.objects.get().enabled and IssuedToken.objects.get().revoked_at is None


@pytest.mark.parametrize("person", ["rita", "carol"])
def test_read_only_roles_see_but_do_not_change(request, client_for, agent, get_token, person):
    held = get_token(agent)
    client = client_for(request.getfixturevalue(person))
    panel = client.get(panels(agent.identity)[0])
    assert b"Disable" not in panel.content and b"Add public key" not in panel.content
    assert client.get(f"/identities/{agent.identity.pk}/credentials/new-key/").status_code == 403
    assert client.post(f"/identities/{agent.identity.pk}/tasks/{held['task_id']}/end/").status_code == 403
    assert Task.objects.get().ended_at is None


def test_an_owner_adds_a_public_key(client_for, alice, make_identity):
    identity = make_identity(alice, credential=False)
    jwk = public_jwk(new_private_key(), kid="laptop-2026")
    response = client_for(alice).post(f"/identities/{identity.pk}/credentials/new-key/", {"label": "build host", "jwk": json.dumps(jwk)})
    assert response.status_code == 302
    credential = WorkloadCredential.objects.get(identity=identity)
    assert credential.kid == "laptop-2026" and credential.label == "build host" and credential.created_by == alice
    panel = client_for(alice).get(panels(identity)[0])
    assert b"laptop-2026" in panel.content and b"build host" in panel.content


def test_a_key_another_identity_holds_is_refused_without_naming_that_identity(client_for, alice, bob, make_identity):
    bobs = make_identity(bob, name="bobs-secret-project", credential=False)
    jwk = public_jwk(new_private_key())
    assert client_for(bob).post(f"/identities/{bobs.pk}/credentials/new-key/", {"jwk": json.dumps(jwk)}).status_code == 302
    mine = make_identity(alice, credential=False)
    response = client_for(alice).post(f"/identities/{mine.pk}/credentials/new-key/", {"jwk": json.dumps(jwk)})
    assert response.status_code == 400 and b"registered to another identity" in response.content
    assert b"bobs-secret-project" not in response.content
    assert not WorkloadCredential.objects.filter(identity=mine).exists()


def test_a_pasted_private_key_is_refused_and_never_stored(client_for, alice, make_identity):
    identity = make_identity(alice, credential=False)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_jwk = RSAAlgorithm.to_jwk(key)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    client = client_for(alice)
    for pasted in (private_jwk, private_pem, ECAlgorithm.to_jwk(new_private_key())):
        response = client.post(f"/identities/{identity.pk}/credentials/new-key/", {"jwk": pasted})
        assert response.status_code == 400
        assert b"This is a private key" in response.content
        # The page does not echo what was pasted back into the form either.
        assert json.loads(private_jwk)["d"].encode() not in response.content
        assert b"BEGIN PRIVATE KEY" not in response.content
    assert not WorkloadCredential.objects.exists()
    assert not AuditEvent.objects.filter(action="credential.add").exists()


def test_a_private_key_refused_for_another_reason_is_not_echoed_either(client_for, alice, make_identity):
    identity = make_identity(alice, credential=False)
    private = json.loads(ECAlgorithm.to_jwk(new_private_key()))
    client = client_for(alice)
    for pasted in (
        json.dumps({"keys": [private]}),  # a whole JWKS where one key was asked for
        json.dumps(private)[:-1],  # invalid JSON
        json.dumps([private]),  # a list
    ):
        response = client.post(f"/identities/{identity.pk}/credentials/new-key/", {"jwk": pasted})
        assert response.status_code == 400
        assert private["d"].encode() not in response.content
    assert not WorkloadCredential.objects.exists()


def test_an_owner_adds_a_spiffe_id_under_a_registered_trust_domain(client_for, alice, sam, make_identity):
    identity = make_identity(alice, credential=False)
    client = client_for(alice)
    unknown = client.post(f"/identities/{identity.pk}/credentials/new-spiffe/", {"spiffe_id": "spiffe://prod.example.com/agent"})
    assert unknown.status_code == 400 and b"not registered" in unknown.content
    trust_domain_create(actor=sam, name="prod.example.com", jwks={"keys": [public_jwk(new_private_key(), kid="k1")]})
    response = client.post(f"/identities/{identity.pk}/credentials/new-spiffe/", {"spiffe_id": "spiffe://prod.example.com/agent"})
    assert response.status_code == 302
    assert WorkloadCredential.objects.get().spiffe_id == "spiffe://prod.example.com/agent"


def test_an_owner_disables_a_credential(client_for, alice, agent, get_token):
    get_token(agent)
    credential = WorkloadCredential.objects.get()
    response = client_for(alice).post(f"/identities/{agent.identity.pk}/credentials/{credential.pk}/disable/")
    assert response.status_code == 302
    credential.refresh_from_db()
    assert not credential.enabled and credential.disabled_by_label == "alice"
    assert IssuedToken.objects.get().revoked_at is not None
    assert b"disabled" in client_for(alice).get(panels(agent.identity)[0]).content


def test_the_access_panel_lists_tasks_and_tokens_but_never_the_token(client_for, alice, agent, get_token):
    held = get_token(agent)
    response = client_for(alice).get(panels(agent.identity)[1])
    assert response.status_code == 200
    assert b"Summarise open tickets" in response.content and b"tickets:read" in response.content
    assert held["access_token"].encode() not in response.content
    assert held["access_token"].split(".")[2].encode() not in response.content
    assert b"End task" in response.content and b"Revoke" in response.content


def test_an_owner_ends_a_task_from_the_panel(client_for, alice, agent, get_token):
    held = get_token(agent)
    response = client_for(alice).post(f"/identities/{agent.identity.pk}/tasks/{held['task_id']}/end/")
    assert response.status_code == 302
    task = Task.objects.get()
    assert task.ended_at and task.ended_by_label == "alice"
    assert IssuedToken.objects.get().revoked_by_label == "alice"
    panel = client_for(alice).get(panels(agent.identity)[1])
    assert b"ended" in panel.content and b"by alice" in panel.content


def test_an_owner_revokes_one_token_from_the_panel(client_for, alice, agent, get_token):
    get_token(agent)
    token = IssuedToken.objects.get()
    response = client_for(alice).post(f"/identities/{agent.identity.pk}/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at and token.revoked_by_label == "alice"
    assert AuditEvent.objects.filter(action="token.revoke", actor=alice).count() == 1


def test_a_token_of_another_identity_is_404_under_this_one(client_for, alice, agent, make_agent, get_token):
    get_token(agent)
    theirs = IssuedToken.objects.get()
    mine = make_agent()
    assert client_for(alice).post(f"/identities/{mine.identity.pk}/tokens/{theirs.pk}/revoke/").status_code == 404
