"""A private key found where it should not be (a public repository, say) is reported by whoever
found it, owner or not: the credential that registered its public half is disabled, what it
obtained is revoked, and the reporter learns nothing of whose key it was. The key is never kept."""

import json
from io import StringIO

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from django.core import mail
from django.core.management import call_command
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from nhiportal.audit.models import AuditEvent
from tokens.models import Exposure, IssuedToken, WorkloadCredential

from .conftest import new_private_key, token_request

REPORT = "/exposures/report/"
API = "/api/v1/exposures/"


def pem(private_key, fmt=serialization.PrivateFormat.PKCS8) -> str:
    return private_key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def private_jwk(private_key) -> str:
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return ECAlgorithm.to_jwk(private_key)
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return OKPAlgorithm.to_jwk(private_key)
    return RSAAlgorithm.to_jwk(private_key)


def secret_parts(text: str) -> list[str]:
    """Pieces of a pasted key that must appear nowhere: each PEM line, or each JWK member's value."""
    if text.startswith("-----"):
        return [line for line in text.splitlines() if line and not line.startswith("-----")]
    return [value for value in json.loads(text).values() if isinstance(value, str) and len(value) > 20]


def kept_anywhere(parts) -> bool:
    stored = [str(e.after) + str(e.before) + e.reason + e.object_repr for e in AuditEvent.objects.all()]
    stored += [e.where_found + e.token_jti for e in Exposure.objects.all()]
    stored += [c.disable_reason for c in WorkloadCredential.objects.all()]
    return any(part in text for part in parts for text in stored)


def test_an_outsider_who_finds_an_agents_private_key_disables_its_credential_and_learns_nothing_of_whose(
    client_for, charlie, agent, get_token, oauth,
):
    get_token(agent)
    key = pem(agent.private_key)
    response = client_for(charlie).post(REPORT, {"token": key, "where_found": "github.com/acme/tools, .env"}, follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Disabled: the portal no longer accepts that key. 1 token obtained with it revoked. The owners see the report." in html
    credential = WorkloadCredential.objects.get(kid=agent.kid)
    for telltale in (agent.identity.name, str(agent.identity.pk), agent.kid, credential.thumbprint, *secret_parts(key)):
        assert telltale not in html
    assert not credential.enabled and credential.disable_reason == "Exposed: github.com/acme/tools, .env"
    assert IssuedToken.objects.get().revoked_at is not None
    exposure = Exposure.objects.get()
    assert exposure.kind == "credential" and exposure.credential == credential and exposure.reported_by == charlie
    assert exposure.was_live and exposure.tokens_revoked == 1 and exposure.where_found == "github.com/acme/tools, .env"
    assert not kept_anywhere(secret_parts(key))
    # The key no longer gets a token.
    assert token_request(oauth, agent).json()["error"] == "invalid_client"
    # The reporter follows the report among theirs, without the identity.
    mine = client_for(charlie).get("/exposures/mine/").content.decode()
    assert "github.com/acme/tools" in mine and "not yours to see" in mine and agent.identity.name not in mine
    # And the owners are told, as for any leak.
    call_command("notify_exposures", stdout=StringIO())
    [message] = mail.outbox
    assert message.to == ["alice@example.com"] and "github.com/acme/tools" in message.body


@pytest.mark.parametrize("alg, shape", [
    ("ES256", "jwk"), ("ES256", "sec1"), ("ES256", "openssh"),
    ("EdDSA", "jwk"), ("EdDSA", "pkcs8"),
    ("RS256", "jwk"), ("RS256", "pkcs1"),
])
def test_the_api_takes_a_private_key_in_each_shape_it_is_found(client_for, charlie, make_agent, alg, shape):
    agent = make_agent(alg=alg)
    formats = {"pkcs8": serialization.PrivateFormat.PKCS8, "sec1": serialization.PrivateFormat.TraditionalOpenSSL,
               "pkcs1": serialization.PrivateFormat.TraditionalOpenSSL, "openssh": serialization.PrivateFormat.OpenSSH}
    key = private_jwk(agent.private_key) if shape == "jwk" else pem(agent.private_key, formats[shape])
    response = client_for(charlie).post(API, {"token": key, "where_found": "a public gist"}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json() == {"tokens_revoked": 0, "was_live": True, "personal_api_token": False, "kind": "credential"}
    assert not WorkloadCredential.objects.get(kid=agent.kid).enabled
    assert Exposure.objects.get().credential.kid == agent.kid
    assert not kept_anywhere(secret_parts(key) if shape == "jwk" else [line for line in key.splitlines() if "-----" not in line])


def test_a_published_public_key_dressed_up_as_a_private_one_disables_nothing(client_for, charlie, agent):
    """Public members are not taken on trust: the public half is derived from the private part,
    else anyone could disable any agent's credential with its public key and a made-up d."""
    forged = {**json.loads(ECAlgorithm.to_jwk(agent.private_key.public_key())),
              "d": json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1())))["d"]}
    for client_post in (
        lambda: client_for(charlie).post(REPORT, {"token": json.dumps(forged), "where_found": "a gist"}),
        lambda: client_for(charlie).post(API, {"token": json.dumps(forged), "where_found": "a gist"}, content_type="application/json"),
    ):
        response = client_post()
        assert response.status_code == 400 and "matches no key registered with the portal" in response.content.decode()
        assert forged["d"] not in response.content.decode()
    assert WorkloadCredential.objects.get(kid=agent.kid).enabled and not Exposure.objects.exists()


def test_a_private_key_that_matches_no_credential_says_so_and_is_not_echoed(client_for, charlie, agent):
    stranger = pem(new_private_key("ES256"))
    page = client_for(charlie).post(REPORT, {"token": stranger, "where_found": "a gist"})
    html = page.content.decode()
    assert page.status_code == 400 and "This private key matches no key registered with the portal" in html
    assert "nothing here to revoke" not in html and not any(line in html for line in secret_parts(stranger))
    api = client_for(charlie).post(API, {"token": stranger, "where_found": "a gist"}, content_type="application/json")
    assert api.status_code == 400 and "matches no key registered" in api.json()["token"][0]
    assert not Exposure.objects.exists() and WorkloadCredential.objects.get(kid=agent.kid).enabled


def test_an_encrypted_or_broken_private_key_is_a_reason_next_to_the_field(client_for, charlie, agent):
    encrypted = agent.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"hunter2"),
    ).decode()
    broken = pem(agent.private_key)[:120] + "\n-----END PRIVATE KEY-----\n"
    for pasted, reason in ((encrypted, "This private key is encrypted"), (broken, "cannot be read"), ('{"kty": "EC", "crv": "P-256", "d": 5}', "cannot be read")):
        response = client_for(charlie).post(REPORT, {"token": pasted, "where_found": "a gist"})
        assert response.status_code == 400 and reason in response.content.decode(), pasted
    assert WorkloadCredential.objects.get(kid=agent.kid).enabled and not Exposure.objects.exists()


def test_a_key_disabled_already_is_recorded_once_and_a_repeat_report_writes_nothing(client_for, charlie, bob, alice, agent):
    # A key leaked in public can be pasted by anyone, again and again: once on record, a repeat
    # would only mail its owners and queue work for security again.
    from tokens.credentials import credential_disable

    credential_disable(actor=alice, credential=WorkloadCredential.objects.get(kid=agent.kid), reason="Rotated.")
    key = pem(agent.private_key)
    first = client_for(charlie).post(REPORT, {"token": key, "where_found": "a gist"}, follow=True)
    assert "Recorded. That key no longer worked here (disabled already); the owners see the report." in first.content.decode()
    mailed = len(mail.outbox)
    again = client_for(bob).post(REPORT, {"token": key, "where_found": "the same gist, forked"})
    assert again.status_code == 400 and "This key was reported already" in again.content.decode()
    api = client_for(bob).post(API, {"token": key, "where_found": "the same gist"}, content_type="application/json")
    assert api.status_code == 400 and "reported already" in api.json()["token"][0]
    assert [e.was_live for e in Exposure.objects.order_by("pk")] == [False] and len(mail.outbox) == mailed


def test_a_paste_longer_than_any_key_is_refused_before_it_is_read(client_for, charlie, agent):
    for pasted in ("-----BEGIN PRIVATE KEY-----" * 2000, pem(agent.private_key) + "#" * 20_000):
        page = client_for(charlie).post(REPORT, {"token": pasted, "where_found": "a gist"})
        assert page.status_code == 400 and "Ensure this value has at most 16384 characters" in page.content.decode()
        api = client_for(charlie).post(API, {"token": pasted, "where_found": "a gist"}, content_type="application/json")
        assert api.status_code == 400 and "token" in api.json()
    # A place that long is no place: blanked, not scanned for secrets nor sent back.
    page = client_for(charlie).post(REPORT, {"token": "not a token", "where_found": "eyJ" * 30_000})
    assert page.status_code == 400 and "eyJeyJeyJ" not in page.content.decode()
    assert WorkloadCredential.objects.get(kid=agent.kid).enabled and not Exposure.objects.exists()


def test_an_rsa_key_given_by_its_private_exponent_alone_is_checked_against_the_registered_modulus(client_for, charlie, make_agent):
    agent = make_agent(alg="RS256")
    jwk = json.loads(RSAAlgorithm.to_jwk(agent.private_key))
    d_only = {name: jwk[name] for name in ("kty", "n", "e", "d")}
    wrong_d = {**d_only, "d": json.loads(RSAAlgorithm.to_jwk(new_private_key("RS256")))["d"]}
    # A prime "modulus" with d = e = n once kept cryptography recovering factors for minutes.
    prime = (1 << 521) - 1
    crafted = {"kty": "RSA", "n": _b64(prime), "e": _b64(prime), "d": _b64(prime)}
    for pasted in (wrong_d, crafted):
        response = client_for(charlie).post(API, {"token": json.dumps(pasted), "where_found": "a gist"}, content_type="application/json")
        assert response.status_code == 400, response.content
        assert WorkloadCredential.objects.get(kid=agent.kid).enabled
    response = client_for(charlie).post(API, {"token": json.dumps(d_only), "where_found": "a gist"}, content_type="application/json")
    assert response.status_code == 201 and not WorkloadCredential.objects.get(kid=agent.kid).enabled


def _b64(number: int) -> str:
    import base64

    return base64.urlsafe_b64encode(number.to_bytes((number.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
