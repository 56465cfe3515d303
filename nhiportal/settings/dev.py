"""Local development: `make run`. DEBUG on, plain HTTP on 127.0.0.1."""

from .base import *  # noqa: F401,F403
from .base import env_list

DEBUG = True
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The demo's security admin signs in with a password alone unless you ask for more.
MFA_REQUIRED_ROLES = env_list("NHI_MFA_REQUIRED_ROLES", "")
