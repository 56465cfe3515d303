"""Secrets the portal needs: from the environment, or generated once for development.

Production must set NHI_SECRET_KEY, NHI_AUDIT_HMAC_KEY and NHI_KEY_ENCRYPTION_KEY.
Development generates each on first use under var/keys/ (git-ignored, mode 0600) so
`make run` works on a fresh clone without anyone pasting a key.
"""

import base64
import binascii
import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

FERNET_KEY_HINT = (
    'generate one with: .venv/bin/python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


def secret(name: str, *, dev_dir: Path | None, nbytes: int = 48) -> str:
    """Return the secret NAME from the environment, or a stable generated one in dev_dir."""
    value = os.environ.get(name)
    if value:
        return value
    if dev_dir is None:
        raise ImproperlyConfigured(f"{name} must be set in the environment (see Configuration in README.md).")
    dev_dir.mkdir(parents=True, exist_ok=True)
    path = dev_dir / name.lower()
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode())
    return path.read_text().strip()


def encryption_keys(value: str, name: str = "NHI_KEY_ENCRYPTION_KEY") -> str:
    """VALUE unchanged if it is one or more Fernet keys, comma-separated; refuse it at start-up
    otherwise, before the first secret is encrypted or read under it. The message says which
    key is wrong by position, never what it holds."""
    keys = [key.strip() for key in value.split(",") if key.strip()]  # as nhiportal/encryption.py reads them
    if not keys:
        raise ImproperlyConfigured(f"{name} holds no key: {FERNET_KEY_HINT}")
    for position, key in enumerate(keys, start=1):
        try:
            raw = base64.urlsafe_b64decode(key.encode())
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            which = f"key {position} of {len(keys)}" if len(keys) > 1 else "its value"
            raise ImproperlyConfigured(
                f"{name}: {which} is not a Fernet key (urlsafe base64 of 32 bytes, 44 characters); {FERNET_KEY_HINT}"
            )
    return value
