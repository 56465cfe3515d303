"""Production settings, served over plain HTTP on loopback for the benchmarks only."""

from nhiportal.settings.production import *  # noqa: F401,F403

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
# The benchmark signs the demo's security admin in by password alone; the second-factor step
# is a sign-in cost, not a page's.
MFA_REQUIRED_ROLES = []
