import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ValidationError
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from tokens.public_keys import parse_jwks, parse_public_jwk

from .conftest import new_private_key, public_jwk


# Without "alg", each key type's one algorithm (RFC 8725 section 3.1); EdDSA under both its names.
@pytest.mark.parametrize("alg, expected", [("ES256", ("ES256",)), ("EdDSA", ("EdDSA", "Ed25519")), ("RS256", ("RS256",))])
def test_it_accepts_the_three_key_types(alg, expected):
    key = parse_public_jwk(public_jwk(new_private_key(alg)))
    assert key.algorithms == expected and len(key.thumbprint) == 43


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
def test_an_rsa_key_is_used_with_the_one_algorithm_its_jwk_names(alg):
    key = parse_public_jwk({**public_jwk(new_private_key("RS256")), "alg": alg})
    assert key.algorithms == (alg,) and key.jwk["alg"] == alg


def test_an_rsa_pem_key_is_used_with_rs256_only():
    pem = new_private_key("RS256").public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert parse_public_jwk(pem.decode()).algorithms == ("RS256",)


def test_a_bundles_rsa_keys_are_used_with_rs256_unless_they_name_ps256():
    rsa_key = new_private_key("RS256")
    bundle = parse_jwks({"keys": [public_jwk(rsa_key, kid="plain"), public_jwk(new_private_key("RS256"), kid="pss", alg="PS256")]})
    assert (bundle["plain"].algorithms, bundle["pss"].algorithms) == (("RS256",), ("PS256",))


def test_a_proofs_own_key_takes_the_proofs_algorithm_only_when_its_jwk_names_none():
    # A DPoP proof carries its key, and RFC 9449 lets the client choose the algorithm per proof.
    plain = public_jwk(new_private_key("RS256"))
    assert parse_public_jwk(plain, proof_alg="PS256").algorithms == ("PS256",)
    assert parse_public_jwk({**plain, "alg": "RS256"}, proof_alg="PS256").algorithms == ("RS256",)
    assert parse_public_jwk(plain, proof_alg="ES256").algorithms == ("RS256",)  # not the key's type: its default


def test_it_accepts_a_pem_public_key():
    pem = new_private_key().public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert parse_public_jwk(pem.decode()).jwk["kty"] == "EC"


def refused(value, code):
    with pytest.raises(ValidationError) as error:
        parse_public_jwk(value)
    assert error.value.code == code
    return error.value.messages[0]


@pytest.mark.parametrize(
    "private",
    [
        lambda: ECAlgorithm.to_jwk(new_private_key("ES256")),
        lambda: OKPAlgorithm.to_jwk(new_private_key("EdDSA")),
        lambda: RSAAlgorithm.to_jwk(new_private_key("RS256")),
        lambda: json.dumps({**public_jwk(new_private_key("RS256")), "p": "abc", "q": "def"}),
        lambda: new_private_key().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        lambda: new_private_key().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ).decode(),
        lambda: json.dumps({"kty": "oct", "k": "c2VjcmV0"}),
    ],
)
def test_it_refuses_private_keys_with_a_clear_error(private):
    value = private()
    message = refused(value, "private_key")
    assert "private key" in message and "nothing was stored" in message
    assert value[20:60] not in message


def test_it_refuses_weak_or_unsupported_keys():
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    assert "2048" in refused(public_jwk(weak), "weak")
    assert "P-256" in refused(public_jwk(ec.generate_private_key(ec.SECP384R1())), "key_type")
    refused({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}, "invalid")
    refused("not json", "invalid")
    refused({**public_jwk(new_private_key()), "alg": "HS256"}, "alg")
    refused({**public_jwk(new_private_key()), "use": "enc"}, "invalid")


def test_it_keeps_public_members_only():
    key = parse_public_jwk({**public_jwk(new_private_key(), kid="k1"), "x5u": "https://evil.example", "extra": 1})
    assert set(key.jwk) == {"kty", "crv", "x", "y", "kid"}


def test_a_bundle_needs_kids_and_skips_x509_authorities():
    bundle = {"keys": [public_jwk(new_private_key(), kid="a", use="jwt-svid"), {"kty": "RSA", "use": "x509-svid", "x5c": ["..."]}]}
    assert list(parse_jwks(bundle)) == ["a"]
    with pytest.raises(ValidationError):
        parse_jwks({"keys": [public_jwk(new_private_key())]})
    with pytest.raises(ValidationError):
        parse_jwks({"keys": []})
