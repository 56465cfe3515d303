from datetime import timedelta

import pytest
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from tokens.keys import active_signer, published_jwks, signer_cache_clear, signing_key_create, signing_keys_rotate
from tokens.models import KeyState, SigningKey


def states():
    return {k.kid: k.state for k in SigningKey.objects.all()}


def test_the_first_token_creates_an_es256_key(db):
    signer = active_signer()
    key = SigningKey.objects.get(state=KeyState.ACTIVE)
    assert key.state == KeyState.ACTIVE and key.alg == "ES256" and key.kid == signer.kid
    assert AuditEvent.objects.filter(action="signing_key.create", actor_label="system:signing-keys").count() == 1


def test_the_private_key_is_encrypted_at_rest(db, settings):
    signer = active_signer()
    stored = bytes(SigningKey.objects.get(state=KeyState.ACTIVE).private_key_encrypted)
    der = signer.private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    pem = signer.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    assert der not in stored and pem not in stored and b"PRIVATE" not in stored
    assert Fernet(settings.KEY_ENCRYPTION_KEY.encode()).decrypt(stored) == der
    assert "private" not in str(SigningKey.objects.get(state=KeyState.ACTIVE).public_jwk).lower() and "d" not in SigningKey.objects.get(state=KeyState.ACTIVE).public_jwk


def test_rotation_walks_the_states(sam):
    first = active_signer().kid
    signing_keys_rotate(actor=sam)
    second = SigningKey.objects.get(state=KeyState.ACTIVE).kid
    upcoming = SigningKey.objects.get(state=KeyState.NEXT).kid
    assert states() == {first: "retiring", second: "active", upcoming: "next"}
    assert active_signer().kid == second

    signing_keys_rotate(actor=sam)
    # The key published as next is the one that signs now: verifiers had it already.
    assert SigningKey.objects.get(state=KeyState.ACTIVE).kid == upcoming
    assert states()[first] == "retiring"  # not yet: tokens it signed may still be live


def test_a_retiring_key_retires_once_its_tokens_expired(sam):
    first = active_signer().kid
    signing_keys_rotate(actor=sam)
    SigningKey.objects.filter(kid=first).update(retiring_at=timezone.now() - timedelta(hours=1))
    signing_keys_rotate(actor=sam)
    assert SigningKey.objects.get(kid=first).state == KeyState.RETIRED


def test_the_jwks_publishes_next_active_and_retiring_but_not_retired(sam, oauth):
    first = active_signer().kid
    signing_keys_rotate(actor=sam)
    SigningKey.objects.filter(kid=first).update(retiring_at=timezone.now() - timedelta(hours=1))
    signing_keys_rotate(actor=sam)
    response = oauth.get("/oauth/jwks.json")
    published = {k["kid"] for k in response.json()["keys"]}
    live = set(SigningKey.objects.exclude(state=KeyState.RETIRED).values_list("kid", flat=True))
    assert published == live and first not in published and len(published) == 3
    assert response["Cache-Control"] == "public, max-age=300"
    assert all(set(k) <= {"kty", "crv", "x", "y", "kid", "alg", "use"} for k in response.json()["keys"])
    assert published_jwks() == response.json()


def test_eddsa_is_allowed_and_signs_from_the_rotation_after_it_was_published(sam):
    active_signer()  # the first token made the first key, and published the next beside it
    signing_keys_rotate(actor=sam, alg="EdDSA")
    assert SigningKey.objects.get(state=KeyState.ACTIVE).alg == "ES256"
    published_next = SigningKey.objects.get(state=KeyState.NEXT)
    assert published_next.alg == "EdDSA" and published_next.kid in {k["kid"] for k in published_jwks()["keys"]}
    signing_keys_rotate(actor=sam)  # no algorithm named: the next key's
    assert active_signer().kid == published_next.kid and active_signer().alg == "EdDSA"
    assert SigningKey.objects.get(state=KeyState.NEXT).alg == "EdDSA"


def test_every_rotation_signs_with_a_key_the_jwks_published_before_it(sam, oauth):
    active_signer()
    for alg in ("EdDSA", "ES256", None, "EdDSA"):
        published = {k["kid"] for k in oauth.get("/oauth/jwks.json").json()["keys"]}
        signing_keys_rotate(actor=sam, alg=alg)
        assert active_signer().kid in published


def test_the_rotate_button_says_when_another_algorithm_takes_over(client_for, sam):
    active_signer()
    response = client_for(sam).post("/keys/rotate/", {"alg": "EdDSA"}, follow=True)
    assert b"(ES256) signs now" in response.content
    assert b"The next key, published from now, is EdDSA: it signs from the next rotation" in response.content


def test_a_next_key_can_be_prepared_ahead(sam):
    key = signing_key_create(actor=sam)
    assert key.state == KeyState.NEXT and key.kid in {k["kid"] for k in published_jwks()["keys"]}


def test_the_rotate_command_is_audited(db, capsys):
    call_command("rotate_signing_keys", "--alg", "ES256")
    assert "signs now" in capsys.readouterr().out
    assert AuditEvent.objects.get(action="signing_key.rotate").actor_label == "system:rotate_signing_keys"


def test_the_rotate_command_can_wait_until_the_key_is_old(db, capsys):
    kid = active_signer().kid
    SigningKey.objects.filter(kid=kid).update(activated_at=timezone.now())
    call_command("rotate_signing_keys", "--if-older-than", "30")
    assert SigningKey.objects.get(kid=kid).state == KeyState.ACTIVE
    SigningKey.objects.filter(kid=kid).update(activated_at=timezone.now() - timedelta(days=31))
    call_command("rotate_signing_keys", "--if-older-than", "30")
    assert SigningKey.objects.get(kid=kid).state == KeyState.RETIRING


def test_a_wrong_encryption_key_cannot_read_the_private_part(db, settings):
    active_signer()
    signer_cache_clear()
    settings.KEY_ENCRYPTION_KEY = Fernet.generate_key().decode()
    with pytest.raises(InvalidToken):
        active_signer()
