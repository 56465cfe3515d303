"""Secrets the portal needs: from the environment, or generated once for development.

Production must set NHI_SECRET_KEY, NHI_AUDIT_HMAC_KEY and NHI_KEY_ENCRYPTION_KEY.
Development generates each on first use under var/keys/ (git-ignored, mode 0600) so
`make run` works on a fresh clone without anyone pasting a key.
"""

import base64
import os
import secrets
from pathlib import Path


def secret(name: str, *, dev_dir: Path | None, nbytes: int = 48) -> str:
    """Return the secret NAME from the environment, or a stable generated one in dev_dir."""
    value = os.environ.get(name)
    if value:
        return value
    if dev_dir is None:
        raise RuntimeError(f"{name} must be set in the environment")
    dev_dir.mkdir(parents=True, exist_ok=True)
    path = dev_dir / name.lower()
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode())
    return path.read_text().strip()
