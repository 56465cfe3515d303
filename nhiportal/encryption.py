"""Secrets the portal must read back (its signing keys, people's authenticator secrets, webhook
signing secrets) are kept encrypted under NHI_KEY_ENCRYPTION_KEY (Fernet: AES-128-CBC with an
HMAC-SHA256), never in the clear.

The setting may hold several Fernet keys, comma-separated, newest first: the first encrypts,
any of them decrypts (cryptography's MultiFernet). Rotating the key: put a new key in front
(`new,old`) and restart; `manage.py encryption_key_rotate` re-encrypts every kept secret under
it (`--check` then says none is left under an older key); drop the old key and restart.
"""

from django.apps import apps
from django.conf import settings
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# Every field that holds a secret encrypted here, by app label, model and field: named, not
# imported, so this project-wide module depends on none of the apps that keep secrets.
ENCRYPTED_FIELDS = (
    ("tokens", "SigningKey", "private_key_encrypted", "signing keys"),
    ("people", "SecondFactor", "secret_encrypted", "second factors"),
    ("webhooks", "WebhookEndpoint", "secret_encrypted", "webhook secrets"),
    ("webhooks", "WebhookEndpoint", "url_encrypted", "webhook URLs"),
)


def _keys() -> list[Fernet]:
    return [Fernet(key.strip().encode()) for key in settings.KEY_ENCRYPTION_KEY.split(",") if key.strip()]


def key_count() -> int:
    return len(_keys())


def encrypt(plain: bytes) -> bytes:
    return MultiFernet(_keys()).encrypt(plain)


def decrypt(token: bytes) -> bytes:
    return MultiFernet(_keys()).decrypt(bytes(token))


def under_newest_key(token: bytes) -> bool:
    """Whether the first (newest) key alone reads it."""
    try:
        _keys()[0].decrypt(bytes(token))
    except InvalidToken:
        return False
    return True


def readable(token: bytes) -> bool:
    """Whether any configured key reads it."""
    try:
        decrypt(token)
    except InvalidToken:
        return False
    return True


def encrypted_values():
    """(what, model, field) for every field that keeps an encrypted secret."""
    for app_label, model_name, field, what in ENCRYPTED_FIELDS:
        yield what, apps.get_model(app_label, model_name), field


def reencrypt(token: bytes) -> bytes:
    """The same secret, encrypted under the newest key (InvalidToken if no key reads it)."""
    return MultiFernet(_keys()).rotate(bytes(token))
