"""Production: DEBUG off, HTTPS only, secrets from the environment (never generated)."""

from .base import *  # noqa: F401,F403
from .base import env_bool, env_int
from .keys import encryption_keys, secret

DEBUG = False
SECRET_KEY = secret("NHI_SECRET_KEY", dev_dir=None)
AUDIT_HMAC_KEY = secret("NHI_AUDIT_HMAC_KEY", dev_dir=None)
KEY_ENCRYPTION_KEY = encryption_keys(secret("NHI_KEY_ENCRYPTION_KEY", dev_dir=None))

# TLS ends at the proxy, which must set X-Forwarded-Proto on every request (replacing the
# client's) and pass the Host header through.
SECURE_SSL_REDIRECT = env_bool("NHI_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers probe the workers over plain HTTP and count a redirect as a failure.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# The __Host- prefix makes browsers keep these cookies only if set over HTTPS by this very host,
# for every path: a sibling subdomain (or a plain-HTTP answer forged on the way) cannot plant a
# CSRF token or a session of its choosing on the portal's users.
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_HSTS_SECONDS = env_int("NHI_HSTS_SECONDS", 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
