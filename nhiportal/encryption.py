"""Secrets the portal must read back (its signing keys, people's authenticator secrets, webhook
signing secrets) are kept encrypted under NHI_KEY_ENCRYPTION_KEY (Fernet: AES-128-CBC with an
HMAC-SHA256), never in the clear."""

from cryptography.fernet import Fernet
from django.conf import settings


def _fernet() -> Fernet:
    return Fernet(settings.KEY_ENCRYPTION_KEY.encode())


def encrypt(plain: bytes) -> bytes:
    return _fernet().encrypt(plain)


def decrypt(token: bytes) -> bytes:
    return _fernet().decrypt(bytes(token))
