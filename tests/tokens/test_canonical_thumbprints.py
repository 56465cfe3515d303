"""A public key has one thumbprint however it is spelled: padding, a leading zero byte in n,
e as "AAEAAQ", "+" and "/" for "-" and "_". So a key registered once cannot come back spelled
otherwise, on this identity or another. Keys registered spelled otherwise before this held are
given their key's thumbprint on upgrade (migration tokens 0045), and a report of their private
half disables every credential that holds it."""

import base64

import pytest

from nhiportal.audit.models import AuditEvent
from tests.upgrades import upgrade
from tokens.credentials import KEY_USED_BEFORE
from tokens.models import Exposure, WorkloadCredential
from tokens.public_keys import jwk_thumbprint, parse_public_jwk

from .conftest import new_private_key, public_jwk
from .test_leaked_private_keys import pem

CREDENTIALS = "/api/v1/credentials/"
REPORT = "/exposures/report/"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()  # padding kept: what the parser also takes


def _bytes(member: str) -> bytes:
    return base64.urlsafe_b64decode(member + "=" * (-len(member) % 4))


def padded(jwk: dict) -> dict:
    return {**jwk, **{m: _b64(_bytes(jwk[m])) for m in ("x", "y", "n") if m in jwk}}


def leading_zero(jwk: dict) -> dict:
    return {**jwk, "n": _b64(b"\0" + _bytes(jwk["n"])).rstrip("=")}


def long_exponent(jwk: dict) -> dict:
    return {**jwk, "e": "AAEAAQ"}


def standard_alphabet(jwk: dict) -> dict:
    return {**jwk, "n": "AAAA" + base64.b64encode(_bytes(jwk["n"])).decode().rstrip("=")}  # "+" and "/", and a zero byte


SPELLINGS = [
    ("ES256", padded), ("EdDSA", padded),
    ("RS256", padded), ("RS256", leading_zero), ("RS256", long_exponent), ("RS256", standard_alphabet),
]


def register(client, identity, jwk):
    return client.post(CREDENTIALS, {"identity": str(identity.pk), "jwk": jwk}, content_type="application/json")


@pytest.mark.django_db
@pytest.mark.parametrize("alg, spell", SPELLINGS)
def test_a_key_spelled_otherwise_is_the_same_key_and_is_not_registered_again(client_for, alice, make_agent, make_identity, alg, spell):
    agent = make_agent(alice, alg=alg)
    other = make_identity(alice, credential=False)
    respelled = spell(public_jwk(agent.private_key, kid="again"))
    assert respelled != public_jwk(agent.private_key, kid="again")
    credential = WorkloadCredential.objects.get(identity=agent.identity)
    assert parse_public_jwk(respelled).thumbprint == credential.thumbprint

    client = client_for(alice)
    in_use = register(client, other, respelled)
    assert in_use.status_code == 400 and "registered to another identity" in in_use.json()["jwk"][0]
    response = client.post(f"{CREDENTIALS}{credential.pk}/disable/", {"reason": "Leak confirmed."}, content_type="application/json")
    assert response.status_code == 200
    for identity in (other, agent.identity):
        refused = register(client, identity, respelled)
        assert refused.status_code == 400 and refused.json()["jwk"] == [KEY_USED_BEFORE]
    assert WorkloadCredential.objects.count() == 1
    assert not AuditEvent.objects.filter(action="credential.add", after__kid="again").exists()


@pytest.mark.django_db
def test_a_key_is_kept_in_its_canonical_members_whatever_was_pasted(client_for, alice, make_identity):
    private_key = new_private_key("RS256")
    identity = make_identity(alice, credential=False)
    response = register(client_for(alice), identity, long_exponent(leading_zero(public_jwk(private_key, kid="k1"))))
    assert response.status_code == 201, response.content
    credential = WorkloadCredential.objects.get(identity=identity)
    canonical = {m: public_jwk(private_key)[m] for m in ("kty", "e", "n")}
    assert credential.public_jwk == {**canonical, "kid": "k1"}
    assert credential.thumbprint == jwk_thumbprint(public_jwk(private_key))


def registered_before(credential, jwk: dict) -> None:
    """Arrange: the credential holds `jwk` as a version that took the thumbprint as pasted kept it."""
    jwk = {**jwk, "kid": credential.kid}
    WorkloadCredential.objects.filter(pk=credential.pk).update(public_jwk=jwk, thumbprint=jwk_thumbprint(jwk))


@pytest.mark.django_db(transaction=True)
def test_upgrading_gives_a_key_registered_spelled_otherwise_its_thumbprint_and_says_where_it_is_held_twice(
    alice, bob, make_agent, capsys,
):
    first, again, alone = make_agent(alice, alg="RS256"), make_agent(bob, alg="ES256"), make_agent(bob, alg="RS256")
    padded_alone = padded(public_jwk(alone.private_key))
    registered_before(WorkloadCredential.objects.get(identity=again.identity), leading_zero(public_jwk(first.private_key)))
    registered_before(WorkloadCredential.objects.get(identity=alone.identity), padded_alone)
    events = AuditEvent.objects.count()

    upgrade("tokens", "0044_signing_key_compromise", "0045_canonical_key_thumbprints")

    held = WorkloadCredential.objects.get(identity=first.identity)
    twice = WorkloadCredential.objects.get(identity=again.identity)
    assert twice.thumbprint == held.thumbprint == jwk_thumbprint(public_jwk(first.private_key))
    assert twice.public_jwk == {**public_jwk(first.private_key), "kid": twice.kid}
    assert twice.enabled and held.enabled  # both kept: which should not have it is the operators' call
    lone = WorkloadCredential.objects.get(identity=alone.identity)
    assert lone.thumbprint == jwk_thumbprint(public_jwk(alone.private_key)) != jwk_thumbprint(padded_alone)
    out = capsys.readouterr().out
    assert f"credential {twice.pk} (identity {again.identity.pk}, enabled) holds the same public key as credential(s) {held.pk}" in out
    assert f"credential {held.pk} (identity {first.identity.pk}, enabled)" in out and f"credential {lone.pk} " not in out
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db(transaction=True)
def test_a_leaked_private_key_disables_every_credential_that_registered_it(client_for, alice, bob, charlie, make_agent):
    first, again = make_agent(alice, alg="RS256"), make_agent(bob)
    registered_before(WorkloadCredential.objects.get(identity=again.identity), padded(public_jwk(first.private_key)))
    upgrade("tokens", "0044_signing_key_compromise", "0045_canonical_key_thumbprints")

    response = client_for(charlie).post(REPORT, {"token": pem(first.private_key), "where_found": "a public gist"}, follow=True)
    assert response.status_code == 200
    for identity in (first.identity, again.identity):
        credential = WorkloadCredential.objects.get(identity=identity)
        assert not credential.enabled and credential.disable_reason == "Exposed: a public gist"
        assert Exposure.objects.get(credential=credential).was_live
    assert AuditEvent.objects.filter(action="credential.disable").count() == 2 and Exposure.objects.count() == 2
