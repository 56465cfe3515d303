"""Local development: `make run`. DEBUG on, plain HTTP on 127.0.0.1."""

from .base import *  # noqa: F401,F403

DEBUG = True
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
