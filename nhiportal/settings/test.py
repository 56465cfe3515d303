"""The test suite: fast hashing, keys generated per run, nothing written to var/."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F401,F403
from .base import DATABASES, NHI

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# POLICY_CACHE_SECONDS 0: each test's rolled-back policy versions must not outlive it in memory.
# API_RATE_PER_MINUTE 0: the throttle's counts live in the cache across tests, under person ids
# that each test reuses; tests/nhiportal/test_api_throttle.py turns it on.
NHI = {**NHI, "ISSUER": "http://testserver", "POLICY_CACHE_SECONDS": 0, "API_RATE_PER_MINUTE": 0}
MEDIA_ROOT = Path(tempfile.gettempdir()) / "nhiportal-test-media"
# Static files come from the finders in tests; no collectstatic run is needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT = Path(tempfile.gettempdir()) / "nhiportal-test-static"
STATIC_ROOT.mkdir(exist_ok=True)

# The personas sign in with passwords; the second-factor tests turn the requirement on.
MFA_REQUIRED_ROLES = []

# On PostgreSQL, Django's backend with a faster way to empty the tables between tests that
# commit (tests/postgresql/base.py says why).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "tests.postgresql"
