"""The federated issuers pages (security admins) and the federated credential form (owners)."""

import json

import pytest
from jwt.algorithms import ECAlgorithm

from nhiportal.audit.models import AuditEvent
from tokens.federation import federated_issuer_create
from tokens.models import FederatedIssuer, WorkloadCredential

from .conftest import new_private_key, public_jwk
from .test_federation import GITHUB, SUBJECT, OidcIssuer


@pytest.fixture
def issuer(sam):
    return federated_issuer_create(actor=sam, name="GitHub Actions", issuer=GITHUB, jwks={"keys": [public_jwk(new_private_key(), kid="gh-1")]})


@pytest.mark.parametrize("person", ["alice", "charlie", "rita", "carol"])
def test_only_security_admins_see_and_change_federated_issuers(request, client_for, person, issuer):
    client = client_for(request.getfixturevalue(person))
    for url in ("/federated-issuers/", "/federated-issuers/new/", f"/federated-issuers/{issuer.pk}/"):
        response = client.get(url)
        assert response.status_code == 403 and GITHUB.encode() not in response.content, url
    assert client.post("/federated-issuers/new/", {"issuer": "https://k8s.example.com", "name": "k8s"}).status_code == 403
    assert client.post(f"/federated-issuers/{issuer.pk}/", {"name": "renamed", "max_age": 300}).status_code == 403
    assert client.post(f"/federated-issuers/{issuer.pk}/refresh/").status_code == 403
    assert list(FederatedIssuer.objects.values_list("name", flat=True)) == ["GitHub Actions"]


def test_the_list_says_when_there_is_none_yet(client_for, sam):
    response = client_for(sam).get("/federated-issuers/")
    assert response.status_code == 200 and b"No federated issuer registered" in response.content


def test_a_security_admin_registers_an_issuer_by_its_url_alone(client_for, sam):
    server = OidcIssuer()
    try:
        server.publish(("k1", new_private_key()))
        response = client_for(sam).post(
            "/federated-issuers/new/", {"issuer": server.issuer, "name": "Cluster", "max_age": 900, "reusable": "on"}
        )
        assert response.status_code == 302, response.content
        issuer = FederatedIssuer.objects.get()
        assert (issuer.bundle_endpoint, issuer.max_age, issuer.reusable) == (f"{server.origin}/jwks", 900, True)
        listing = client_for(sam).get("/federated-issuers/").content
        assert b"k1" in listing and b"again until they expire" in listing
        server.publish(("k2", new_private_key()))
        assert client_for(sam).post(f"/federated-issuers/{issuer.pk}/refresh/").status_code == 302
        assert [k["kid"] for k in FederatedIssuer.objects.get().jwks["keys"]] == ["k2"]
    finally:
        server.stop()
    assert AuditEvent.objects.filter(action="federated_issuer.create", actor=sam).count() == 1


def test_a_refused_registration_shows_the_error_by_its_field_and_keeps_no_private_key(client_for, sam):
    private = {**json.loads(ECAlgorithm.to_jwk(new_private_key())), "kid": "k1"}
    client = client_for(sam)
    response = client.post(
        "/federated-issuers/new/",
        {"issuer": "https://k8s.example.com", "name": "k8s", "jwks": json.dumps({"keys": [private]}), "max_age": 600},
    )
    assert response.status_code == 400 and b"private key" in response.content
    assert private["d"].encode() not in response.content
    long_lived = client.post(
        "/federated-issuers/new/", {"issuer": "https://k8s.example.com", "name": "k8s", "max_age": 86400}
    )
    assert long_lived.status_code == 400 and b"less than or equal to 3600" in long_lived.content
    not_a_url = client.post("/federated-issuers/new/", {"issuer": "k8s", "name": "k8s", "max_age": 600})
    assert not_a_url.status_code == 400 and b"https:// URL" in not_a_url.content
    assert not FederatedIssuer.objects.exists()


def test_a_security_admin_edits_what_is_checked_of_its_tokens(client_for, sam, issuer):
    edit = client_for(sam).get(f"/federated-issuers/{issuer.pk}/")
    assert edit.status_code == 200 and b"gh-1" in edit.content
    response = client_for(sam).post(
        f"/federated-issuers/{issuer.pk}/",
        {"name": "GitHub", "audience": "api://nhi-portal", "jwks": json.dumps(issuer.jwks), "max_age": 300},
    )
    assert response.status_code == 302, response.content
    issuer.refresh_from_db()
    assert (issuer.name, issuer.audience) == ("GitHub", "api://nhi-portal")
    event = AuditEvent.objects.get(action="federated_issuer.update")
    assert event.after == {"name": "GitHub", "audience": "api://nhi-portal"}


def test_an_owner_adds_a_federated_credential(client_for, alice, make_identity, issuer):
    identity = make_identity(alice, credential=False)
    client = client_for(alice)
    form = client.get(f"/identities/{identity.pk}/credentials/new-federated/")
    assert form.status_code == 200 and b"GitHub Actions" in form.content
    bad = client.post(
        f"/identities/{identity.pk}/credentials/new-federated/",
        {"federated_issuer": issuer.pk, "subject": SUBJECT, "required_claims": "aud=me"},
    )
    assert bad.status_code == 400 and b"checked already" in bad.content
    response = client.post(
        f"/identities/{identity.pk}/credentials/new-federated/",
        {"federated_issuer": issuer.pk, "subject": SUBJECT, "required_claims": "repository_owner=acme"},
    )
    assert response.status_code == 302
    credential = WorkloadCredential.objects.get(identity=identity)
    assert (credential.kind, credential.subject, credential.required_claims) == ("federated", SUBJECT, {"repository_owner": "acme"})
    panel = client.get(f"/identities/{identity.pk}/credentials-panel/").content
    assert b"GitHub Actions token for" in panel and b"repository_owner" in panel


def test_the_credential_form_says_when_no_issuer_is_registered(client_for, alice, make_identity):
    identity = make_identity(alice, credential=False)
    response = client_for(alice).get(f"/identities/{identity.pk}/credentials/new-federated/")
    assert b"No federated issuer is registered yet" in response.content


def test_an_outsider_cannot_add_a_federated_credential(client_for, charlie, alice, make_identity, issuer):
    identity = make_identity(alice, credential=False)
    client = client_for(charlie)
    url = f"/identities/{identity.pk}/credentials/new-federated/"
    assert client.get(url).status_code == 404
    assert client.post(url, {"federated_issuer": issuer.pk, "subject": SUBJECT}).status_code == 404
    assert not WorkloadCredential.objects.filter(identity=identity).exists()


def test_the_issuer_form_refuses_the_issuers_own_url_as_the_audience_next_to_the_field(client_for, sam, issuer):
    response = client_for(sam).post(
        f"/federated-issuers/{issuer.pk}/",
        {"name": issuer.name, "audience": issuer.issuer, "jwks": json.dumps(issuer.jwks), "max_age": 300},
    )
    assert response.status_code == 400 and "the issuer itself" in response.context["form"].errors["audience"][0]
    issuer.refresh_from_db()
    assert issuer.audience == ""
