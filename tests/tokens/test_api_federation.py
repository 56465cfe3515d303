"""The federated issuers API, and federated credentials over the credentials API."""

import pytest

from tokens.federation import federated_issuer_create
from tokens.models import FederatedIssuer, WorkloadCredential

from .conftest import new_private_key, public_jwk
from .test_api import api
from .test_federation import GITHUB, SUBJECT


@pytest.fixture
def jwks():
    return {"keys": [public_jwk(new_private_key(), kid="gh-1")]}


def test_a_security_admin_registers_and_changes_an_issuer(client_for, sam, jwks):
    call = api(client_for, sam)
    created = call("post", "federated-issuers/", {"name": "GitHub Actions", "issuer": GITHUB, "jwks": jwks})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["issuer"], body["max_age"], body["reusable"], body["bundle_endpoint"]) == (GITHUB, 300, False, "")
    changed = call("patch", f"federated-issuers/{body['id']}/", {"audience": "api://nhi-portal", "max_age": 600})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["audience"], changed.json()["max_age"], changed.json()["name"]) == ("api://nhi-portal", 600, "GitHub Actions")
    pasted = call("post", f"federated-issuers/{body['id']}/refresh/")
    assert pasted.status_code == 409 and "pasted by hand" in pasted.json()["detail"]


def test_bad_issuer_input_gets_a_reason(client_for, sam, jwks):
    call = api(client_for, sam)
    not_https = call("post", "federated-issuers/", {"name": "x", "issuer": "http://issuer.example.com", "jwks": jwks})
    assert not_https.status_code == 400 and "issuer" in not_https.json()
    too_long = call("post", "federated-issuers/", {"name": "x", "issuer": GITHUB, "jwks": jwks, "max_age": 7200})
    assert too_long.status_code == 400 and "max_age" in too_long.json()
    assert not FederatedIssuer.objects.exists()


@pytest.mark.parametrize("person", ["alice", "charlie", "rita", "carol"])
def test_only_security_admins_reach_the_issuers_api(request, client_for, sam, person, jwks):
    issuer = federated_issuer_create(actor=sam, name="GitHub Actions", issuer=GITHUB, jwks=jwks)
    call = api(client_for, request.getfixturevalue(person))
    listing = call("get", "federated-issuers/")
    assert listing.status_code == 403 and GITHUB not in listing.content.decode()
    assert call("post", "federated-issuers/", {"name": "x", "issuer": "https://x.example.com", "jwks": jwks}).status_code == 403
    assert call("patch", f"federated-issuers/{issuer.pk}/", {"name": "renamed"}).status_code == 403
    assert call("post", f"federated-issuers/{issuer.pk}/refresh/").status_code == 403
    assert list(FederatedIssuer.objects.values_list("name", flat=True)) == ["GitHub Actions"]


def test_an_owner_adds_a_federated_credential_over_the_api(client_for, sam, alice, charlie, make_identity, jwks):
    issuer = federated_issuer_create(actor=sam, name="GitHub Actions", issuer=GITHUB, jwks=jwks)
    identity = make_identity(alice, credential=False)
    request = {"identity": str(identity.pk), "federated_issuer": issuer.pk, "subject": SUBJECT, "required_claims": {"repository_owner": "acme"}}
    assert api(client_for, charlie)("post", "credentials/", request).status_code == 404
    half = api(client_for, alice)("post", "credentials/", {"identity": str(identity.pk), "subject": SUBJECT})
    assert half.status_code == 400 and "federated_issuer and subject" in half.content.decode()
    created = api(client_for, alice)("post", "credentials/", request)
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["kind"], body["federated_issuer"], body["subject"], body["required_claims"]) == (
        "federated", GITHUB, SUBJECT, {"repository_owner": "acme"}
    )
    assert WorkloadCredential.objects.get(identity=identity).federated_issuer == issuer


def test_the_api_refuses_the_issuers_own_url_as_the_audience(client_for, sam, jwks):
    call = api(client_for, sam)
    created = call("post", "federated-issuers/", {"name": "GitHub Actions", "issuer": GITHUB, "audience": GITHUB, "jwks": jwks})
    assert created.status_code == 400 and "the issuer itself" in created.json()["audience"][0]
    issuer = federated_issuer_create(actor=sam, name="GitHub Actions", issuer=GITHUB, jwks=jwks)
    changed = call("patch", f"federated-issuers/{issuer.pk}/", {"audience": GITHUB})
    assert changed.status_code == 400 and "audience" in changed.json()
    issuer.refresh_from_db()
    assert issuer.audience == ""
