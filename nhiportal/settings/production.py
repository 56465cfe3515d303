"""Production: DEBUG off, HTTPS only, secrets from the environment (never generated)."""

import os

from .base import *  # noqa: F401,F403
from .base import env_bool
from .keys import secret

DEBUG = False
SECRET_KEY = secret("NHI_SECRET_KEY", dev_dir=None)
AUDIT_HMAC_KEY = secret("NHI_AUDIT_HMAC_KEY", dev_dir=None)
KEY_ENCRYPTION_KEY = secret("NHI_KEY_ENCRYPTION_KEY", dev_dir=None)

SECURE_SSL_REDIRECT = env_bool("NHI_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = int(os.environ.get("NHI_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
