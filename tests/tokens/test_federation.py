"""Workload identity federation: an agent in GitHub Actions or Kubernetes presents the token its
platform signed, and gets a portal token for the one identity whose federated credential names
that issuer and subject. The issuers here are real JWKS servers on loopback."""

import base64
import time
import uuid

import jwt
import pytest
from django.core.exceptions import ValidationError

from inventory.services import identity_activate
from nhiportal.audit.models import AuditEvent
from tokens.credentials import credential_add_federated, credential_disable
from tokens.federation import federated_issuer_create, federated_issuer_update
from tokens.models import FederatedIssuer, IssuedToken, UsedAssertion, WorkloadCredential
from tokens.trust_bundles import trust_bundles_refresh

from .conftest import ISSUER, TOKEN_URL, new_private_key, public_jwk
from .json_server import JsonServer
from .test_spiffe import request_with, spiffe_request

GITHUB = "https://token.actions.example.com"
SUBJECT = "repo:acme/agents:environment:production"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@pytest.fixture
def platform_key():
    return new_private_key()


@pytest.fixture
def issuer(sam, platform_key):
    return federated_issuer_create(
        actor=sam, name="GitHub Actions", issuer=GITHUB, jwks={"keys": [public_jwk(platform_key, kid="gh-1")]},
    )


@pytest.fixture
def pipeline(make_identity, alice, issuer, crm, grant):
    identity = make_identity(alice, credential=False)
    credential_add_federated(
        actor=alice, identity=identity, federated_issuer=issuer, subject=SUBJECT, required_claims="repository_owner=acme",
    )
    identity = identity_activate(actor=alice, identity=identity)
    grant(identity, crm, ["tickets:read"])
    return identity


def workload_token(key, *, iss=GITHUB, sub=SUBJECT, aud=TOKEN_URL, kid="gh-1", lifetime=240, alg="ES256", **claims):
    now = int(time.time())
    payload = {"iss": iss, "sub": sub, "aud": aud, "iat": now, "exp": now + lifetime, "repository_owner": "acme", **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})


def test_a_workload_token_of_a_registered_issuer_gets_the_identity_a_token(oauth, pipeline, platform_key):
    response = request_with(oauth, workload_token(platform_key, jti=uuid.uuid4().hex), client_id=str(pipeline.pk))
    assert response.status_code == 200, response.content
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == claims["client_id"] == str(pipeline.pk)
    credential = IssuedToken.objects.get().credential
    assert (credential.federated_issuer.issuer, credential.subject) == (GITHUB, SUBJECT)


def test_the_issuer_and_subject_name_the_identity_without_a_client_id(oauth, pipeline, platform_key):
    response = request_with(oauth, workload_token(platform_key, jti=uuid.uuid4().hex))
    assert response.status_code == 200, response.content
    assert IssuedToken.objects.get().identity_id == pipeline.pk


@pytest.mark.parametrize(
    "change",
    [
        {"kid": "gh-2"},
        {"sub": "repo:acme/agents:environment:staging"},
        {"iss": "https://other-issuer.example.com"},
        {"aud": "https://crm.example.com"},
        {"iat": int(time.time()) - 600},
        {"lifetime": -120},
        {"repository_owner": "mallory"},
        {"repository_owner": None},
    ],
    ids=["unknown kid", "other subject", "unregistered issuer", "wrong audience", "issued too long ago", "expired",
         "required claim differs", "required claim missing"],
)
def test_a_token_that_does_not_match_the_credential_is_refused(oauth, pipeline, platform_key, change):
    response = request_with(oauth, workload_token(platform_key, jti=uuid.uuid4().hex, **change))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert not IssuedToken.objects.exists() and not UsedAssertion.objects.exists()


def test_a_fresh_token_is_accepted_however_far_off_its_platform_set_its_expiry(oauth, pipeline, platform_key):
    six_hours = workload_token(platform_key, jti=uuid.uuid4().hex, lifetime=6 * 3600)  # as GitHub Actions issues them
    assert request_with(oauth, six_hours).status_code == 200
    without_iat = workload_token(platform_key, jti=uuid.uuid4().hex, iat=None)
    refused = request_with(oauth, without_iat)
    assert refused.status_code == 401 and "iat" in refused.json()["error_description"]


def test_a_token_signed_by_another_key_is_refused(oauth, pipeline):
    response = request_with(oauth, workload_token(new_private_key(), jti=uuid.uuid4().hex))
    assert response.status_code == 401 and not IssuedToken.objects.exists()


def test_a_client_id_of_another_identity_is_refused(oauth, pipeline, platform_key, make_identity, alice):
    other = make_identity(alice)
    for client_id in (str(other.pk), "not-a-uuid"):
        response = request_with(oauth, workload_token(platform_key, jti=uuid.uuid4().hex), client_id=client_id)
        assert response.status_code == 401, client_id
    assert not IssuedToken.objects.exists()


def test_each_token_is_accepted_once_unless_the_issuer_allows_reuse(oauth, pipeline, platform_key, issuer, sam):
    token = workload_token(platform_key)  # no jti: the token itself is single-use
    assert request_with(oauth, token).status_code == 200
    assert request_with(oauth, token).status_code == 401
    federated_issuer_update(
        actor=sam, federated_issuer=issuer, name=issuer.name, audience="", jwks=issuer.jwks, max_age=900, reusable=True,
    )
    projected = workload_token(platform_key, lifetime=800)
    assert [request_with(oauth, projected).status_code for _ in range(2)] == [200, 200]
    assert IssuedToken.objects.count() == 3


def test_an_issuer_registered_with_an_audience_accepts_that_audience_only(oauth, pipeline, platform_key, issuer, sam):
    federated_issuer_update(
        actor=sam, federated_issuer=issuer, name=issuer.name, audience="api://nhi-portal", jwks=issuer.jwks,
        max_age=300, reusable=False,
    )
    assert request_with(oauth, workload_token(platform_key, jti=uuid.uuid4().hex)).status_code == 401
    assert request_with(oauth, workload_token(platform_key, jti=uuid.uuid4().hex, aud="api://nhi-portal")).status_code == 200


def test_disabling_the_credential_refuses_its_tokens_and_revokes_what_it_got(oauth, pipeline, platform_key, alice):
    assert request_with(oauth, workload_token(platform_key, jti=uuid.uuid4().hex)).status_code == 200
    credential_disable(actor=alice, credential=WorkloadCredential.objects.get(identity=pipeline))
    assert IssuedToken.objects.get().revoked_at is not None
    assert request_with(oauth, workload_token(platform_key, jti=uuid.uuid4().hex)).status_code == 401


def test_a_subject_belongs_to_one_identity(pipeline, issuer, make_identity, alice):
    other = make_identity(alice, credential=False)
    with pytest.raises(ValidationError) as refused:
        credential_add_federated(actor=alice, identity=other, federated_issuer=issuer, subject=SUBJECT)
    assert "already in use" in str(refused.value)
    assert WorkloadCredential.objects.filter(subject=SUBJECT).count() == 1


@pytest.mark.parametrize(
    "claims, message",
    [
        ("sub=someone", "checked already"),
        ("repository_owner", "name=value"),
        ({"ref": 3}, "string values"),
        ("\n".join(f"c{n}=v" for n in range(11)), "At most 10"),
    ],
)
def test_it_refuses_required_claims_it_cannot_check(issuer, make_identity, alice, claims, message):
    identity = make_identity(alice, credential=False)
    with pytest.raises(ValidationError) as refused:
        credential_add_federated(actor=alice, identity=identity, federated_issuer=issuer, subject=SUBJECT, required_claims=claims)
    assert message in str(refused.value)
    assert not WorkloadCredential.objects.filter(identity=identity).exists()


def test_adding_a_federated_credential_is_audited_with_what_it_matches(pipeline):
    event = AuditEvent.objects.get(action="credential.add", object_id=str(WorkloadCredential.objects.get().pk))
    assert event.after["issuer"] == GITHUB and event.after["subject"] == SUBJECT
    assert event.after["required_claims"] == {"repository_owner": "acme"}


class OidcIssuer(JsonServer):
    """An OpenID provider on loopback: its discovery document and its JWKS."""

    def __init__(self):
        super().__init__()
        self.issuer = self.origin
        self.documents["/.well-known/openid-configuration"] = {"issuer": self.issuer, "jwks_uri": f"{self.origin}/jwks"}

    def publish(self, *keys):
        self.documents["/jwks"] = {"keys": [public_jwk(key, kid=kid) for kid, key in keys]}


@pytest.fixture
def oidc_issuer():
    server = OidcIssuer()
    yield server
    server.stop()


def test_registering_an_issuer_finds_its_keys_by_discovery_and_the_sweep_follows_rotation(
    oauth, sam, alice, make_identity, crm, grant, oidc_issuer,
):
    first, second = new_private_key(), new_private_key()
    oidc_issuer.publish(("k1", first))
    issuer = federated_issuer_create(actor=sam, name="Cluster", issuer=oidc_issuer.issuer)
    assert issuer.bundle_endpoint == f"{oidc_issuer.origin}/jwks" and issuer.bundle_fetched_at is not None
    identity = make_identity(alice, credential=False)
    credential_add_federated(actor=alice, identity=identity, federated_issuer=issuer, subject="system:serviceaccount:agents:bot")
    identity_activate(actor=alice, identity=identity)
    grant(identity, crm, ["tickets:read"])

    def token(key, kid):
        return workload_token(key, iss=oidc_issuer.issuer, sub="system:serviceaccount:agents:bot", kid=kid, jti=uuid.uuid4().hex)

    assert request_with(oauth, token(first, "k1")).status_code == 200
    oidc_issuer.publish(("k2", second))
    FederatedIssuer.objects.filter(pk=issuer.pk).update(bundle_fetched_at=issuer.bundle_fetched_at.replace(year=2000))
    assert trust_bundles_refresh(actor=None)["changed"] == 1
    assert request_with(oauth, token(second, "k2")).status_code == 200
    assert request_with(oauth, token(first, "k1")).status_code == 401
    assert AuditEvent.objects.filter(action="federated_issuer.keys_refresh").count() == 1


def test_a_discovery_document_naming_another_issuer_is_refused(sam, oidc_issuer):
    oidc_issuer.publish(("k1", new_private_key()))
    oidc_issuer.documents["/.well-known/openid-configuration"]["issuer"] = "https://elsewhere.example.com"
    with pytest.raises(ValidationError) as refused:
        federated_issuer_create(actor=sam, name="Cluster", issuer=oidc_issuer.issuer)
    assert "names another issuer" in str(refused.value) and not FederatedIssuer.objects.exists()


def test_an_unreachable_issuer_asks_for_its_jwks(sam):
    with pytest.raises(ValidationError) as refused:
        federated_issuer_create(actor=sam, name="Cluster", issuer="http://127.0.0.1:9/")
    assert "Paste the issuer's JWKS" in str(refused.value) and not FederatedIssuer.objects.exists()


@pytest.mark.parametrize("value", ["token.actions.example.com", "http://issuer.example.com", "ftp://x.example.com"])
def test_an_issuer_is_an_https_url(sam, platform_key, value):
    with pytest.raises(ValidationError) as refused:
        federated_issuer_create(actor=sam, name="x", issuer=value, jwks={"keys": [public_jwk(platform_key, kid="k")]})
    assert "issuer" in refused.value.message_dict and not FederatedIssuer.objects.exists()


def test_an_issuer_is_registered_once_with_a_bounded_max_age(sam, issuer, platform_key):
    jwks = {"keys": [public_jwk(platform_key, kid="k")]}
    with pytest.raises(ValidationError, match="already registered"):
        federated_issuer_create(actor=sam, name="again", issuer=GITHUB, jwks=jwks)
    with pytest.raises(ValidationError) as refused:
        federated_issuer_create(actor=sam, name="k8s", issuer="https://k8s.example.com", jwks=jwks, max_age=86400)
    assert "max_age" in refused.value.message_dict
    assert list(FederatedIssuer.objects.values_list("issuer", flat=True)) == [GITHUB]


def test_editing_an_issuer_whose_jwks_uri_is_down_keeps_its_keys(sam, oidc_issuer):
    oidc_issuer.publish(("k1", new_private_key()))
    issuer = federated_issuer_create(actor=sam, name="Cluster", issuer=oidc_issuer.issuer)
    oidc_issuer.status = 503
    changed = federated_issuer_update(
        actor=sam, federated_issuer=issuer, name="Cluster", audience="api://nhi-portal", jwks=None,
        bundle_endpoint=issuer.bundle_endpoint, max_age=600, reusable=False,
    )
    assert (changed.audience, changed.max_age, [k["kid"] for k in changed.jwks["keys"]]) == ("api://nhi-portal", 600, ["k1"])
    with pytest.raises(ValidationError, match="The JWKS URI could not be fetched"):  # a new one is fetched now
        federated_issuer_update(
            actor=sam, federated_issuer=issuer, name="Cluster", audience="", jwks=None,
            bundle_endpoint=f"{oidc_issuer.origin}/other-jwks", max_age=600, reusable=False,
        )


def test_a_refused_token_for_a_known_subject_tells_the_owner_why(oauth, pipeline, platform_key, client_for, alice):
    refused = request_with(oauth, workload_token(platform_key, jti=uuid.uuid4().hex, aud="https://github.com/acme"))
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    credential = WorkloadCredential.objects.get(identity=pipeline)
    assert credential.refused_at is not None and "audience (aud)" in credential.refusal
    panel = client_for(alice).get(f"/identities/{pipeline.pk}/credentials-panel/").content.decode()
    assert "refused" in panel and "audience (aud)" in panel
    # At most one note a minute: a flood of refusals writes once.
    request_with(oauth, workload_token(platform_key, jti=uuid.uuid4().hex, repository_owner="mallory"))
    assert "audience (aud)" in WorkloadCredential.objects.get(identity=pipeline).refusal


def test_a_token_for_an_unknown_subject_notes_nothing(oauth, pipeline, platform_key):
    request_with(oauth, workload_token(platform_key, jti=uuid.uuid4().hex, sub="repo:mallory/x:ref:refs/heads/main"))
    assert WorkloadCredential.objects.get(identity=pipeline).refused_at is None


RELEASES = "repo:acme/agents:ref:refs/tags/*"


@pytest.fixture
def releaser(make_identity, alice, issuer, crm, grant):
    """A release pipeline: GitHub builds its sub from the tag it runs for, so one credential names them all."""
    identity = make_identity(alice, credential=False)
    credential_add_federated(actor=alice, identity=identity, federated_issuer=issuer, subject=RELEASES, required_claims="repository_owner=acme")
    identity = identity_activate(actor=alice, identity=identity)
    grant(identity, crm, ["tickets:read"])
    return identity


@pytest.mark.parametrize("tag", ["v1.2.0", "v2.0.0-rc.1"])
def test_a_subject_ending_in_a_star_accepts_every_sub_that_starts_with_the_rest(oauth, releaser, platform_key, tag):
    response = request_with(oauth, workload_token(platform_key, sub=f"repo:acme/agents:ref:refs/tags/{tag}", jti=uuid.uuid4().hex))
    assert response.status_code == 200, response.content
    assert IssuedToken.objects.get().identity_id == releaser.pk


@pytest.mark.parametrize("sub", [
    "repo:acme/agents:ref:refs/heads/main",  # a branch, not a tag
    "repo:acme/agents:ref:refs/tags",  # the prefix without its slash
    "repo:acme/agents-evil:ref:refs/tags/v1",
])
def test_a_star_subject_refuses_subs_that_do_not_start_with_the_rest(oauth, releaser, platform_key, sub):
    response = request_with(oauth, workload_token(platform_key, sub=sub, jti=uuid.uuid4().hex))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert not IssuedToken.objects.exists()


def test_an_exact_subject_and_a_star_subject_of_different_identities_never_overlap(pipeline, releaser, issuer, make_identity, alice):
    """Each token leads to one identity, whichever was registered first."""
    other = make_identity(alice, credential=False)
    for subject in ("repo:acme/agents:*", "repo:acme/*", "repo:acme/agents:ref:refs/tags/v1.0.0", RELEASES):
        with pytest.raises(ValidationError) as refused:
            credential_add_federated(actor=alice, identity=other, federated_issuer=issuer, subject=subject)
        assert "each token must lead to one identity" in str(refused.value), subject
    # Disjoint subjects are fine, and one identity may hold overlapping ones of its own.
    credential_add_federated(actor=alice, identity=other, federated_issuer=issuer, subject="repo:acme/agents:ref:refs/heads/*")
    credential_add_federated(actor=alice, identity=releaser, federated_issuer=issuer, subject="repo:acme/agents:ref:refs/tags/v1.0.0")
    assert WorkloadCredential.objects.filter(identity=other).count() == 1


@pytest.mark.parametrize("subject, message", [
    ("repo:acme/agents:*:production", "put one, last"),
    ("repo:acme/agents:ref:refs/tags/**", "put one, last"),
    ("repo:acme*", "right after a ':' or '/'"),
    ("repo:*", "at least two parts"),
    ("*", "right after a ':' or '/'"),
])
def test_a_star_subject_must_fix_enough_of_the_sub_and_end_with_the_star(issuer, make_identity, alice, subject, message):
    identity = make_identity(alice, credential=False)
    with pytest.raises(ValidationError) as refused:
        credential_add_federated(actor=alice, identity=identity, federated_issuer=issuer, subject=subject)
    assert message in str(refused.value)
    assert not WorkloadCredential.objects.filter(identity=identity).exists()


def test_a_token_without_jti_cannot_come_back_with_its_signatures_twin(oauth, pipeline, platform_key):
    # An ECDSA signature (r, s) has a twin (r, n - s) that verifies as well: spending the token
    # must spend the twin.
    token = workload_token(platform_key)
    assert request_with(oauth, token).status_code == 200
    head, payload, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    twin = raw[:32] + (P256_ORDER - int.from_bytes(raw[32:], "big")).to_bytes(32, "big")
    replayed = request_with(oauth, f"{head}.{payload}.{base64.urlsafe_b64encode(twin).rstrip(b'=').decode()}")
    assert replayed.status_code == 401 and "replay" in replayed.json()["error_description"]
    assert IssuedToken.objects.count() == 1


def test_new_keys_pasted_under_the_old_kids_replace_them_and_the_trail_shows_the_keys(oauth, pipeline, platform_key, issuer, sam):
    rotated = new_private_key()
    federated_issuer_update(
        actor=sam, federated_issuer=issuer, name=issuer.name, audience="", jwks={"keys": [public_jwk(rotated, kid="gh-1")]},
        max_age=issuer.max_age, reusable=False,
    )
    # The platform signs with its new key under the same kid: accepted; the old key no longer.
    assert request_with(oauth, workload_token(rotated, jti=uuid.uuid4().hex)).status_code == 200
    assert request_with(oauth, workload_token(platform_key, jti=uuid.uuid4().hex)).status_code == 401
    event = AuditEvent.objects.get(action="federated_issuer.update")
    assert set(event.after) == {"keys"}  # the kids did not change; the keys did
    assert event.before["keys"][0]["x"] == public_jwk(platform_key)["x"] and event.after["keys"][0]["x"] == public_jwk(rotated)["x"]
    assert not any("d" in key for key in event.after["keys"])  # public halves only


def test_the_sweep_records_a_key_swapped_under_the_same_kid(sam, oidc_issuer):
    first, second = new_private_key(), new_private_key()
    oidc_issuer.publish(("k1", first))
    issuer = federated_issuer_create(actor=sam, name="Cluster", issuer=oidc_issuer.issuer)
    oidc_issuer.publish(("k1", second))
    FederatedIssuer.objects.filter(pk=issuer.pk).update(bundle_fetched_at=issuer.bundle_fetched_at.replace(year=2000))
    assert trust_bundles_refresh(actor=None)["changed"] == 1
    event = AuditEvent.objects.get(action="federated_issuer.keys_refresh")
    assert event.before["kids"] == event.after["kids"] == ["k1"]
    assert event.before["keys"] != event.after["keys"]


def test_an_issuers_rsa_key_without_alg_verifies_rs256_tokens_only(oauth, pipeline, issuer, sam):
    platform = new_private_key("RS256")
    federated_issuer_update(
        actor=sam, federated_issuer=issuer, name=issuer.name, audience="", jwks={"keys": [public_jwk(platform, kid="gh-rsa")]},
        max_age=300, reusable=False,
    )
    response = request_with(oauth, workload_token(platform, kid="gh-rsa", alg="PS256", jti=uuid.uuid4().hex))
    assert response.status_code == 401 and response.json()["error_description"] == "Unknown client or key."
    refusal = WorkloadCredential.objects.get(identity=pipeline).refusal
    assert "used with RS256 only" in refusal and 'the issuer\'s JWKS must say "alg": "PS256"' in refusal
    assert request_with(oauth, workload_token(platform, kid="gh-rsa", alg="RS256", jti=uuid.uuid4().hex)).status_code == 200


def test_a_workload_token_is_not_a_jwt_spiffe_assertion(oauth, pipeline, platform_key):
    response = spiffe_request(oauth, workload_token(platform_key, aud=ISSUER, jti=uuid.uuid4().hex), client_id=str(pipeline.pk))
    assert response.status_code == 401 and "jwt-spiffe" in response.json()["error_description"]
    assert not IssuedToken.objects.exists()


@pytest.mark.parametrize("audience", [GITHUB, GITHUB + "/"])
def test_an_issuer_cannot_take_its_own_url_as_the_audience(sam, issuer, platform_key, audience):
    # The platform's own tokens name it (a pod's default token names the API server): any
    # workload's token for the platform would pass here.
    with pytest.raises(ValidationError) as error:
        federated_issuer_update(
            actor=sam, federated_issuer=issuer, name=issuer.name, audience=audience, jwks=issuer.jwks, max_age=300, reusable=False,
        )
    assert "the issuer itself" in error.value.message_dict["audience"][0]
    issuer.refresh_from_db()
    assert issuer.audience == ""
    cluster = "https://k8s.example.com"
    with pytest.raises(ValidationError) as error:
        federated_issuer_create(actor=sam, name="Cluster", issuer=cluster, audience=cluster, jwks={"keys": [public_jwk(platform_key, kid="k1")]})
    assert "audience" in error.value.message_dict
    assert list(FederatedIssuer.objects.values_list("issuer", flat=True)) == [GITHUB]
