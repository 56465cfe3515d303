"""Settings shared by every environment. Environment variables configure deployments."""

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .keys import encryption_keys, secret

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("NHI_VAR_DIR", BASE_DIR / "var"))
DEV_KEYS_DIR: Path | None = VAR_DIR / "keys"

# A value the portal cannot read stops it at start-up, naming the variable, rather than
# being taken for its default or failing in the first request that reads it. None of these
# is a secret, so the message may quote what was given. Set but empty is unset.
TRUE_WORDS, FALSE_WORDS = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def env_bool(name: str, default: bool = False) -> bool:
    given = os.environ.get(name, "").strip()
    if not given:
        return default
    if given.lower() in TRUE_WORDS:
        return True
    if given.lower() in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), not {given!r}.")


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    given = os.environ.get(name, "").strip()
    if not given:
        return default
    try:
        value = int(given)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {given!r}.") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise ImproperlyConfigured(f"{name} must be {bound}, not {value}.")
    return value


def env_float(name: str, default: float, *, minimum: float = 0) -> float:
    given = os.environ.get(name, "").strip()
    if not given:
        return default
    try:
        value = float(given)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {given!r}.") from None
    if not value >= minimum:  # NaN too
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {given}.")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [v.strip() for v in os.environ.get(name, default).split(",") if v.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    given = os.environ.get(name, "").strip()
    if not given:
        return default
    if given.upper() not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {given!r}.")
    return given.upper()


DEBUG = False
ALLOWED_HOSTS = env_list("NHI_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("NHI_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_htmx",
    "csp",
    "axes",
    "nhiportal",
    "nhiportal.audit",
    "nhiportal.people",
    "inventory",
    "tokens",
    "tokens.policy",
    "nhiportal.compliance",
    "nhiportal.demo",
    "nhiportal.sweep",
    "nhiportal.webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After whitenoise (static files keep their own caching) and before everything else, so it
    # sees each response last, machine endpoints' included (nhiportal/cache_headers.py).
    "nhiportal.cache_headers.NoStoreMiddleware",
    "nhiportal.audit.middleware.RequestIdMiddleware",
    "nhiportal.nul_bytes.NulBytesMiddleware",
    "nhiportal.machine_endpoints.MachineEndpointsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before anything that sends people to sign in, so it sees each such redirect: a form sent
    # after the session ended comes back to its page, not to its POST-only address.
    "nhiportal.people.sign_in_redirects.FormAfterSignOutMiddleware",
    "nhiportal.people.second_factor_middleware.SecondFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Inside the headers' middleware, so the page it puts on a page's bare 405 gets them too.
    "nhiportal.method_not_allowed.FriendlyMethodNotAllowedMiddleware",
    # Last, so it answers a locked-out sign-in with its page (machine endpoints never reach it).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "nhiportal.urls"
WSGI_APPLICATION = "nhiportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "nhiportal.people.context_processors.roles",
                "tokens.context_processors.approvals",
                "inventory.context_processors.claims",
            ],
        },
    },
]

# Database: SQLite (WAL) unless DATABASE_URL names another, e.g. PostgreSQL.
SQLITE_PATH = VAR_DIR / "nhiportal.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600, conn_health_checks=True)}
    except ValueError as error:  # the URL may hold a password, so only its scheme is quoted
        why = "it does not parse"
        scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", DATABASE_URL)
        if isinstance(error, dj_database_url.UnknownSchemeError):
            # Only what stands before "://" is a scheme: a value without one (libpq's
            # "host=... password=...", "user:password@host") would be quoted up to its first
            # colon, or whole.
            why = f"scheme {scheme.group(1)!r} is unknown" if scheme else "it names no scheme"
        raise ImproperlyConfigured(
            f"DATABASE_URL is not a database URL ({why}): write postgres://user:password@host:5432/name."
        ) from None
    if os.environ.get("NHI_TEST_DB_NAME"):
        # Lets several test runs share one PostgreSQL server without clashing.
        DATABASES["default"]["TEST"] = {"NAME": os.environ["NHI_TEST_DB_NAME"]}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                # WAL lets readers run beside the one writer; IMMEDIATE takes the write
                # lock at BEGIN so two writers queue instead of failing on upgrade.
                # A 64 MB page cache keeps the ledger's indexes in memory rather than
                # read back page by page while the write lock is held.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON; "
                    "PRAGMA cache_size=-65536;"
                ),
                "transaction_mode": "IMMEDIATE",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    # The URL may hold a password, so it is not quoted.
    raise ImproperlyConfigured("REDIS_URL must start with redis://, rediss:// or unix://, e.g. redis://127.0.0.1:6379/0.")
# Sessions whose ids are stored hashed (nhiportal/people/sessions.py): a session id logs its
# holder in, so neither the table nor the cache keeps one.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL}}
    SESSION_ENGINE = "nhiportal.people.cached_sessions"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "nhiportal.people.sessions"

AUTHENTICATION_BACKENDS = [
    # First: refuses a sign-in while its username and address are locked out (django-axes).
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row
GUARDIAN_RAISE_403 = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Password guessing (NIST SP 800-63B 5.2.2 asks to limit failed attempts): after
# NHI_LOGIN_FAILURE_LIMIT failures for one username from one address, that pair is refused for
# NHI_LOGIN_LOCKOUT_MINUTES; a success clears the count. Behind a proxy every client has the
# proxy's address, so the lock falls on the username alone.
AXES_FAILURE_LIMIT = env_int("NHI_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("NHI_LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_DISABLE_ACCESS_LOG = True  # sign-ins are not domain changes; last_login says who came when
AXES_VERBOSE = False

# Single sign-on for people through the organisation's identity provider (OpenID Connect,
# nhiportal/people/single_sign_on.py). On when the issuer and the portal's client id at the
# provider are set; the client secret comes from the environment only and is never stored.
SSO = {
    "ISSUER": os.environ.get("NHI_SSO_ISSUER", "").rstrip("/"),
    "CLIENT_ID": os.environ.get("NHI_SSO_CLIENT_ID", ""),
    "CLIENT_SECRET": os.environ.get("NHI_SSO_CLIENT_SECRET", ""),
    # What the sign-in button calls the provider ("Sign in with Okta").
    "NAME": os.environ.get("NHI_SSO_NAME", "single sign-on"),
    "SCOPE": os.environ.get("NHI_SSO_SCOPE", "openid email profile"),
    # "role=group" pairs: a person's roles follow the ID token's groups claim at every sign-in.
    # Unset, roles are managed in the portal and a new person starts with NHI_SSO_NEW_PERSON_ROLES.
    # A pair without "=" is kept with an empty group, so the sign-in check (people.E003) names it.
    "ROLE_GROUPS": [
        tuple(part.strip() for part in pair.split("=", 1)) if "=" in pair else (pair, "")
        for pair in env_list("NHI_SSO_ROLE_GROUPS")
    ],
    "GROUPS_CLAIM": os.environ.get("NHI_SSO_GROUPS_CLAIM", "groups"),
    "CREATE_PEOPLE": env_bool("NHI_SSO_CREATE_PEOPLE", True),
    "NEW_PERSON_ROLES": env_list("NHI_SSO_NEW_PERSON_ROLES", "owner"),
}
# Off, the password form is gone (Django admin included) and everyone signs in through SSO.
PASSWORD_SIGN_IN = env_bool("NHI_PASSWORD_SIGN_IN", True)

# Roles that must use a second factor (an authenticator app) when signing in with a password.
# Sign-ins through SSO rely on the provider's own. Development turns it off (settings/dev.py).
MFA_REQUIRED_ROLES = env_list("NHI_MFA_REQUIRED_ROLES", "security_admin")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inventory:dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

SECRET_KEY = secret("NHI_SECRET_KEY", dev_dir=DEV_KEYS_DIR)
# The audit chain's HMAC key is separate from SECRET_KEY so that rotating one does
# not invalidate the other, and a leaked SECRET_KEY does not let anyone re-sign history.
AUDIT_HMAC_KEY = secret("NHI_AUDIT_HMAC_KEY", dev_dir=DEV_KEYS_DIR)
# Encrypts the portal's private signing keys at rest (Fernet key, urlsafe base64 of 32 bytes).
KEY_ENCRYPTION_KEY = encryption_keys(secret("NHI_KEY_ENCRYPTION_KEY", dev_dir=DEV_KEYS_DIR, nbytes=32))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "nhiportal.people.authentication.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's, with a page that is not there a 400 on `page`; and django-filter's backend, with an
    # empty value for a typed filter a 400 on its name (nhiportal/api.py).
    "DEFAULT_PAGINATION_CLASS": "nhiportal.api.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["nhiportal.api.FilterBackend"],
    # OPTIONS names the endpoint and the OpenAPI description, which holds each operation's body.
    "DEFAULT_METADATA_CLASS": "nhiportal.api.Metadata",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "nhiportal.api.JSONParser", "rest_framework.parsers.FormParser", "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "nhiportal.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["nhiportal.api.PersonRateThrottle"],
    # Only REMOTE_ADDR is trusted (see allowed networks): a forwarded-for header is any client's to write.
    "NUM_PROXIES": 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "NHI Portal API",
    "DESCRIPTION": "Inventory, ownership, grants and audit for AI agents as non-human identities.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation's error answers, with their bodies (nhiportal/api.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "nhiportal.api.document_errors"],
    # One schema name per shared choice set, however each API field is called.
    "ENUM_NAME_OVERRIDES": {
        "SensitivityEnum": "inventory.models.Sensitivity",
        "DecisionEnum": "tokens.policy.models.Decision",
        # Access requests and ownership claims both have a `state`: one name each, whichever is generated first.
        "AccessRequestStateEnum": "tokens.models.AccessRequestState",
        "ClaimStateEnum": "inventory.models.ClaimState",
        # Identities and exposures both have a `kind`.
        "KindEnum": "inventory.models.Kind",
        "ExposureKindEnum": "tokens.models.ExposureKind",
    },
}

# Content security policy: everything from our own origin, nothing inline.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600

EMAIL_BACKEND = os.environ.get("NHI_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("NHI_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("NHI_EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = os.environ.get("NHI_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("NHI_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("NHI_EMAIL_TLS")  # STARTTLS, usually port 587
EMAIL_USE_SSL = env_bool("NHI_EMAIL_SSL")  # TLS from the first byte, usually port 465
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set NHI_EMAIL_TLS (STARTTLS, port 587) or NHI_EMAIL_SSL (port 465), not both.")
# A mail server that stops answering must not hold a sweep step past its lease.
EMAIL_TIMEOUT = env_int("NHI_EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = os.environ.get("NHI_EMAIL_FROM", "nhi-portal@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"client_caused": {"()": "nhiportal.client_caused_logs.ClientCaused"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["client_caused"]}},
    "root": {
        "handlers": ["console"],
        "level": env_choice("NHI_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    },
    # axes logs every sign-in at INFO (usernames masked); its lockouts are WARNING.
    # Authlib logs PKCE verifiers and tokens at DEBUG, and urllib3 every URL it fetches: a chat
    # webhook's URL is that channel's credential.
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "authlib": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}

# The portal's own knobs, one namespaced dict (see nhiportal/conf.py for defaults).
NHI = {
    "ISSUER": os.environ.get("NHI_ISSUER", "http://127.0.0.1:8000"),
    "TOKEN_TTL_CEILING": env_int("NHI_TOKEN_TTL_CEILING", 900, minimum=1),
    # How long a verifier may keep a token status list before fetching it again: a revoked
    # token is refused by offline verifiers within this many seconds (tokens/status_list.py).
    "STATUS_LIST_TTL": env_int("NHI_STATUS_LIST_TTL", 30, minimum=1),
    # Set (in seconds), a DPoP proof at the token endpoint must carry a nonce the portal handed
    # out within that time, or twice it (RFC 9449 section 8); 0 leaves nonces off.
    "DPOP_NONCE_SECONDS": env_int("NHI_DPOP_NONCE_SECONDS", 0),
    # Tokens a minute an identity may obtain unless it has a limit of its own (tokens/rate_limit.py);
    # 0: no portal-wide limit.
    "TOKEN_RATE_PER_MINUTE": env_int("NHI_TOKEN_RATE_PER_MINUTE", 600),
    "TOKEN_RETENTION_DAYS": env_int("NHI_TOKEN_RETENTION_DAYS", 30),
    # The bearer token Prometheus scrapes GET /metrics with (nhiportal/metrics.py); unset: no /metrics.
    "METRICS_TOKEN": os.environ.get("NHI_METRICS_TOKEN", ""),
    # API calls a minute per person (nhiportal/api.py); 0: no limit.
    "API_RATE_PER_MINUTE": env_int("NHI_API_RATE_PER_MINUTE", 1200),
    "DECISION_RETENTION_DAYS": env_int("NHI_DECISION_RETENTION_DAYS", 30),
    # A live grant none of whose tokens in this many days carried one of its scopes is unused
    # access (tokens/usage.py). The ledger answers for TOKEN_RETENTION_DAYS, so no longer.
    "UNUSED_ACCESS_DAYS": env_int("NHI_UNUSED_ACCESS_DAYS", 30),
    # An agent's public key older than this is due for rotation (tokens/rotation.py).
    "CREDENTIAL_MAX_AGE_DAYS": env_int("NHI_CREDENTIAL_MAX_AGE_DAYS", 180, minimum=1),
    # How long an agent's request for approval waits before it lapses (the agent must ask anew),
    # and the longest a reviewer may approve a task for (its tokens expire with the window).
    "APPROVAL_REQUEST_HOURS": env_int("NHI_APPROVAL_REQUEST_HOURS", 24, minimum=1),
    "APPROVAL_WINDOW_MAX_MINUTES": env_int("NHI_APPROVAL_WINDOW_MAX_MINUTES", 480, minimum=1),
    # How long before a grant ends its identity's owners are told (manage.py notify_grant_endings).
    "GRANT_ENDING_NOTICE_DAYS": env_int("NHI_GRANT_ENDING_NOTICE_DAYS", 7),
    # The longest grant an access request may ask for.
    "ACCESS_REQUEST_MAX_DAYS": env_int("NHI_ACCESS_REQUEST_MAX_DAYS", 90, minimum=1),
    "ATTESTATION_INTERVAL_DAYS": env_int("NHI_ATTESTATION_INTERVAL_DAYS", 90, minimum=1),
    "ATTESTATION_GRACE_DAYS": env_int("NHI_ATTESTATION_GRACE_DAYS", 14),
    "ORPHAN_GRACE_DAYS": env_int("NHI_ORPHAN_GRACE_DAYS", 7),
    # governance_sweep rotates the signing key once it is this old.
    "SIGNING_KEY_MAX_AGE_DAYS": env_int("NHI_SIGNING_KEY_MAX_AGE_DAYS", 30),
    "PAGE_SIZE": 25,
    # Keep a well-formed inbound X-Request-ID as the audit log's request id (audit/middleware.py):
    # only behind a proxy that sets it on every request, overwriting the client's. Off: the
    # portal makes every id, so no client can file its events under another request's id.
    "TRUST_REQUEST_ID": env_bool("NHI_TRUST_REQUEST_ID"),
    # How often a background thread checkpoints SQLite's WAL (nhiportal/sqlite_wal.py); 0: on commit.
    "SQLITE_CHECKPOINT_SECONDS": env_float("NHI_SQLITE_CHECKPOINT_SECONDS", 0.2),
}
SPECTACULAR_SETTINGS.update(
    # Tags folded, with a filter: past about 130 operations laid out at once Swagger UI renders
    # only the first two tags, and twenty headings are easier to find one's way in anyway.
    SWAGGER_UI_SETTINGS={"docExpansion": "none", "filter": True},
    SWAGGER_UI_DIST="SIDECAR", SWAGGER_UI_FAVICON_HREF="SIDECAR", REDOC_DIST="SIDECAR"
)
