"""The test suite: fast hashing, keys generated per run, nothing written to var/."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F401,F403
from .base import NHI

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# POLICY_CACHE_SECONDS 0: each test's rolled-back policy versions must not outlive it in memory.
NHI = {**NHI, "ISSUER": "http://testserver", "POLICY_CACHE_SECONDS": 0}
MEDIA_ROOT = Path(tempfile.gettempdir()) / "nhiportal-test-media"
# Static files come from the finders in tests; no collectstatic run is needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT = Path(tempfile.gettempdir()) / "nhiportal-test-static"
STATIC_ROOT.mkdir(exist_ok=True)

# The personas sign in with passwords; the second-factor tests turn the requirement on.
MFA_REQUIRED_ROLES = []
