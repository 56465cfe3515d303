"""Rotating the key-encryption key: every kept secret re-encrypted under the new key, then the old key dropped."""

from io import StringIO

import pyotp
import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from standardwebhooks import Webhook

from nhiportal.audit.models import AuditEvent
from nhiportal.people.models import SecondFactor
from nhiportal.people.second_factor import decrypt_secret, second_factor_enrol
from nhiportal.webhooks.delivery import signed_request
from nhiportal.webhooks.services import endpoint_create
from tokens.keys import active_signer, signer_cache_clear
from tokens.models import KeyState, SigningKey


def run(*args) -> str:
    out = StringIO()
    call_command("encryption_key_rotate", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def secrets_kept(sam, settings):
    """A signing key, an authenticator secret and a webhook secret, under the old key."""
    settings.KEY_ENCRYPTION_KEY = Fernet.generate_key().decode()
    signer = active_signer()
    totp = pyotp.random_base32()
    second_factor_enrol(user=sam, secret=totp, code=pyotp.TOTP(totp).now())
    endpoint, webhook_secret = endpoint_create(actor=sam, url="https://siem.example.com/hook")
    return {"kid": signer.kid, "totp": totp, "endpoint": endpoint, "webhook_secret": webhook_secret}


def test_it_reencrypts_every_secret_under_the_new_key_and_the_old_key_can_go(secrets_kept, sam, settings):
    old = settings.KEY_ENCRYPTION_KEY
    new = Fernet.generate_key().decode()
    settings.KEY_ENCRYPTION_KEY = f"{new},{old}"
    with pytest.raises(CommandError, match="5 secret\\(s\\) are still under an older key"):
        run("--check")
    said = run()
    assert "2 signing keys, 1 second factors, 1 webhook secrets, 1 webhook URLs" in said
    assert "every secret is under the newest key" in run("--check").lower()
    event = AuditEvent.objects.get(action="encryption.key_rotate")
    assert event.after == {"signing keys": 2, "second factors": 1, "webhook secrets": 1, "webhook URLs": 1, "keys configured": 2}

    # The old key dropped: everything still reads, under the new key alone.
    settings.KEY_ENCRYPTION_KEY = new
    signer_cache_clear()
    assert active_signer().kid == secrets_kept["kid"]
    assert decrypt_secret(SecondFactor.objects.get(user=sam).secret_encrypted) == secrets_kept["totp"]
    endpoint = secrets_kept["endpoint"]
    endpoint.refresh_from_db()
    body, headers = signed_request(endpoint, "msg_1", {"hello": "world"})
    Webhook(secrets_kept["webhook_secret"]).verify(body, headers)  # the receiver's secret still matches
    assert endpoint.url == "https://siem.example.com/hook"


def test_without_a_new_key_in_front_it_refuses_and_changes_nothing(secrets_kept):
    before = bytes(SigningKey.objects.get(state=KeyState.ACTIVE).private_key_encrypted)
    with pytest.raises(CommandError, match="holds one key"):
        run()
    assert bytes(SigningKey.objects.get(state=KeyState.ACTIVE).private_key_encrypted) == before
    assert not AuditEvent.objects.filter(action="encryption.key_rotate").exists()


def test_a_secret_no_key_reads_stops_the_rotation_whole(secrets_kept, settings):
    before = bytes(SecondFactor.objects.get().secret_encrypted)
    settings.KEY_ENCRYPTION_KEY = f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}"  # the old key lost
    with pytest.raises(CommandError, match="readable by none of the keys"):
        run()
    with pytest.raises(CommandError, match="readable by none of the keys"):
        run("--check")
    assert bytes(SecondFactor.objects.get().secret_encrypted) == before


def test_dropping_the_old_key_before_rotating_is_caught_by_the_check(secrets_kept, settings):
    settings.KEY_ENCRYPTION_KEY = Fernet.generate_key().decode()
    signer_cache_clear()
    with pytest.raises(InvalidToken):
        active_signer()
    with pytest.raises(CommandError, match="is a key missing"):
        run("--check")
