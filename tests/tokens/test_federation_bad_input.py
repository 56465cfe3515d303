"""Malformed input to federation's pages, API and token endpoint: a 4xx with a reason, never a
500 and never a row written."""

import jwt
import pytest

from inventory.services import identity_activate
from tokens.credentials import credential_add_federated
from tokens.federation import federated_issuer_create
from tokens.models import FederatedIssuer, IssuedToken, WorkloadCredential

from .conftest import new_private_key, public_jwk
from .test_api import api
from .test_federation import GITHUB, workload_token
from .test_spiffe import request_with


@pytest.fixture
def issuer(sam):
    return federated_issuer_create(actor=sam, name="GitHub Actions", issuer=GITHUB, jwks={"keys": [public_jwk(new_private_key(), kid="gh-1")]})


@pytest.mark.parametrize("data", [
    {"name": "x", "max_age": 300},
    {"issuer": "https://x.example.com", "name": "x", "max_age": "abc"},
    {"issuer": "https://x.example.com", "name": "x", "max_age": 300, "jwks": "not json"},
    {"issuer": "https://x.example.com", "name": "x", "max_age": 300, "jwks": "[1, 2]"},
    {"issuer": "https://x.example.com", "name": "x", "max_age": 300, "jwks": '{"keys": "no"}'},
    {"issuer": "https://x.example.com", "name": "x", "max_age": 300, "bundle_endpoint": "javascript:alert(1)"},
    {"issuer": "https://exa mple.com", "name": "x", "max_age": 300, "jwks": '{"keys": []}'},
    {"issuer": "https://x.example.com/" + "a" * 600, "name": "x", "max_age": 300},
])
def test_the_issuer_form_refuses_bad_input_with_a_400(client_for, sam, data):
    response = client_for(sam).post("/federated-issuers/new/", data)
    assert response.status_code == 400 and not FederatedIssuer.objects.exists()


@pytest.mark.parametrize("body", [
    {"name": "x", "issuer": "https://x.example.com", "jwks": "nope"},
    {"name": "x", "issuer": "https://x.example.com", "jwks": {"keys": [{"kty": "EC"}]}},
    {"name": "x", "issuer": 7, "jwks": {"keys": []}},
    {"name": "x", "issuer": "https://x.example.com", "jwks": {"keys": []}, "reusable": "maybe"},
    {"name": "x", "issuer": "https://x.example.com", "jwks": {"keys": []}, "max_age": "long"},
    {"name": "x", "issuer": "https://x.example.com", "bundle_endpoint": "ftp://x.example.com/jwks"},
])
def test_the_issuers_api_refuses_bad_input_with_a_reason(client_for, sam, body):
    response = api(client_for, sam)("post", "federated-issuers/", body)
    assert response.status_code == 400 and response.json() and not FederatedIssuer.objects.exists()


@pytest.mark.parametrize("body", [
    {"federated_issuer": 999, "subject": "s"},
    {"federated_issuer": "one", "subject": "s"},
    {"federated_issuer": None, "subject": "s"},
    {"subject": "", "federated_issuer": 1},
    {"subject": "s", "federated_issuer": 1, "required_claims": ["a=b"]},
    {"subject": "s", "federated_issuer": 1, "required_claims": {"a": {"b": "c"}}},
    {"subject": "s" * 300, "federated_issuer": 1},
    {"subject": "repo:*", "federated_issuer": 1},
])
def test_the_credentials_api_refuses_a_bad_federated_credential(client_for, alice, make_identity, issuer, body):
    identity = make_identity(alice, credential=False)
    body = {"identity": str(identity.pk), **body}
    if body.get("federated_issuer") == 1:
        body["federated_issuer"] = issuer.pk
    response = api(client_for, alice)("post", "credentials/", body)
    assert response.status_code == 400, response.content
    assert not WorkloadCredential.objects.filter(identity=identity).exists()


def test_the_credential_form_says_why_a_star_subject_is_too_wide_next_to_it(client_for, alice, make_identity, issuer):
    identity = make_identity(alice, credential=False)
    response = client_for(alice).post(
        f"/identities/{identity.pk}/credentials/new-federated/", {"federated_issuer": str(issuer.pk), "subject": "repo:*"}
    )
    assert response.status_code == 400 and "at least two parts" in response.context["form"].errors["subject"][0]
    assert not WorkloadCredential.objects.filter(identity=identity).exists()


def test_the_credential_form_refuses_an_unknown_issuer(client_for, alice, make_identity, issuer):
    identity = make_identity(alice, credential=False)
    response = client_for(alice).post(f"/identities/{identity.pk}/credentials/new-federated/", {"federated_issuer": "999", "subject": "s"})
    assert response.status_code == 400 and b"Select a valid choice" in response.content


def _unsigned(claims: dict) -> str:
    return jwt.encode(claims, new_private_key(), algorithm="ES256", headers={"kid": "gh-1"})


@pytest.mark.parametrize("assertion", [
    _unsigned({"iss": GITHUB, "exp": 9999999999, "aud": "x"}),
    _unsigned({"iss": GITHUB, "sub": 42, "exp": 9999999999, "aud": "x"}),
    _unsigned({"iss": GITHUB, "sub": ["a"], "exp": 9999999999, "aud": "x"}),
    _unsigned({"iss": "https://" + "a" * 2000, "sub": "s", "exp": 9999999999}),
    _unsigned({"iss": "http://", "sub": "s"}),
], ids=["no sub", "numeric sub", "list sub", "huge issuer", "empty host"])
def test_the_token_endpoint_refuses_malformed_workload_tokens_as_invalid_client(oauth, issuer, assertion):
    response = request_with(oauth, assertion)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert not IssuedToken.objects.exists()


def test_a_workload_token_whose_jti_is_not_a_string_is_refused(oauth, sam, make_identity, alice, crm, grant):
    key = new_private_key()
    issuer = federated_issuer_create(actor=sam, name="k8s", issuer="https://k8s.example.com", jwks={"keys": [public_jwk(key, kid="c1")]})
    identity = make_identity(alice, credential=False)
    credential_add_federated(actor=alice, identity=identity, federated_issuer=issuer, subject="system:serviceaccount:a:b")
    identity_activate(actor=alice, identity=identity)
    grant(identity, crm, ["tickets:read"])

    def token(jti):
        return workload_token(key, iss=issuer.issuer, sub="system:serviceaccount:a:b", kid="c1", repository_owner=None, jti=jti)

    for jti in (12345, {"a": 1}, "short"):
        response = request_with(oauth, token(jti))
        assert response.status_code == 401 and "jti" in response.json()["error_description"], jti
    assert not IssuedToken.objects.exists()
    assert request_with(oauth, token("a-proper-unique-id")).status_code == 200
