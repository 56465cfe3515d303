"""The production settings pass Django's deployment checks and send the security headers.

Both run in a subprocess: settings are read once per process, and the test suite's own
settings (nhiportal.settings.test) must not leak into what is checked.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def production_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NHI_", "DJANGO_", "DATABASE_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="nhiportal.settings.production",
        NHI_SECRET_KEY=secrets.token_urlsafe(64),
        NHI_AUDIT_HMAC_KEY=secrets.token_urlsafe(64),
        NHI_KEY_ENCRYPTION_KEY=secrets.token_urlsafe(32)[:43] + "=",
        NHI_ALLOWED_HOSTS="portal.example.com",
        NHI_ISSUER="https://portal.example.com",
        NHI_VAR_DIR=str(tmp_path),  # nothing written next to the checkout
    )
    return env


def run(args, env):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_it_passes_the_deployment_checks_without_warnings(production_env):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_refuses_to_start_without_its_secrets(production_env):
    del production_env["NHI_AUDIT_HMAC_KEY"]
    result = run(["manage.py", "check"], production_env)
    assert result.returncode != 0
    assert "NHI_AUDIT_HMAC_KEY must be set" in result.stderr


def test_it_refuses_a_key_encryption_key_that_is_not_a_fernet_key(production_env):
    production_env["NHI_KEY_ENCRYPTION_KEY"] = "correct-horse-battery-staple"
    result = run(["manage.py", "check"], production_env)
    assert result.returncode != 0
    assert "NHI_KEY_ENCRYPTION_KEY: its value is not a Fernet key" in result.stderr
    assert "correct-horse-battery-staple" not in result.stderr  # a key is never echoed


def test_it_names_which_key_is_wrong_while_rotating(production_env):
    production_env["NHI_KEY_ENCRYPTION_KEY"] = production_env["NHI_KEY_ENCRYPTION_KEY"] + ",not-a-key"
    result = run(["manage.py", "check"], production_env)
    assert result.returncode != 0
    assert "NHI_KEY_ENCRYPTION_KEY: key 2 of 2 is not a Fernet key" in result.stderr


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("NHI_TOKEN_TTL_CEILING", "15m", "NHI_TOKEN_TTL_CEILING must be a whole number, not '15m'."),
        ("NHI_TOKEN_TTL_CEILING", "0", "NHI_TOKEN_TTL_CEILING must be at least 1, not 0."),
        ("NHI_EMAIL_PORT", "70000", "NHI_EMAIL_PORT must be from 1 to 65535, not 70000."),
        ("NHI_EMAIL_TLS", "ture", "NHI_EMAIL_TLS must be true or false"),
        ("NHI_SQLITE_CHECKPOINT_SECONDS", "nan", "NHI_SQLITE_CHECKPOINT_SECONDS must be at least 0"),
        ("NHI_LOG_LEVEL", "LOUD", "NHI_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not 'LOUD'."),
        ("REDIS_URL", "127.0.0.1:6379", "REDIS_URL must start with redis://, rediss:// or unix://"),
    ],
)
def test_it_refuses_a_value_it_cannot_read_naming_the_variable(production_env, variable, value, message):
    production_env[variable] = value
    result = run(["manage.py", "check"], production_env)
    assert result.returncode != 0
    assert message in result.stderr.splitlines()[-1]


def test_it_refuses_a_database_url_it_cannot_use_without_quoting_its_password(production_env):
    production_env["DATABASE_URL"] = "postgress://nhi:hunter2-db-password@db/nhiportal"
    result = run(["manage.py", "check"], production_env)
    assert result.returncode != 0
    assert "DATABASE_URL is not a database URL (scheme 'postgress' is unknown)" in result.stderr
    assert "hunter2-db-password" not in result.stderr


@pytest.mark.parametrize("value", [
    "host=db user=nhi password=hunter2-db-password dbname=nhiportal",  # libpq's keyword form
    "nhi:hunter2-db-password@db/nhiportal",  # the scheme forgotten
    "postgres//nhi:hunter2-db-password@db/nhiportal",  # its colon forgotten
])
def test_it_refuses_a_database_url_without_a_scheme_without_quoting_any_of_it(production_env, value):
    production_env["DATABASE_URL"] = value
    result = run(["manage.py", "check"], production_env)
    assert result.returncode != 0
    refusal = result.stderr.strip().splitlines()[-1]
    assert "DATABASE_URL is not a database URL" in refusal
    # Neither the password nor the user name before it: no part of what was given is quoted.
    assert "hunter2-db-password" not in result.stderr and "nhi" not in refusal


def test_it_refuses_both_kinds_of_mail_tls_at_once(production_env):
    production_env.update(NHI_EMAIL_TLS="1", NHI_EMAIL_SSL="1")
    result = run(["manage.py", "check"], production_env)
    assert result.returncode != 0
    assert "Set NHI_EMAIL_TLS (STARTTLS, port 587) or NHI_EMAIL_SSL (port 465), not both." in result.stderr


def test_it_fails_the_deployment_checks_for_an_issuer_without_https(production_env):
    production_env["NHI_ISSUER"] = "http://portal.example.com"
    result = run(["manage.py", "check", "--deploy"], production_env)
    assert result.returncode != 0
    assert "(nhiportal.E001) NHI_ISSUER is 'http://portal.example.com': an OAuth issuer must be an https:// URL." in result.stderr


def test_it_warns_when_the_issuer_names_a_host_it_does_not_answer_for(production_env):
    production_env["NHI_ISSUER"] = "https://nhi.example.org"
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env)
    assert result.returncode != 0
    assert "(nhiportal.W001) NHI_ISSUER names nhi.example.org, which NHI_ALLOWED_HOSTS does not list" in result.stderr


def test_a_role_group_pair_without_an_equals_sign_is_reported(production_env):
    production_env["NHI_SSO_ROLE_GROUPS"] = "owner:ai-builders"
    result = run(["manage.py", "check"], production_env)
    assert result.returncode != 0
    assert "(people.E003) NHI_SSO_ROLE_GROUPS: owner:ai-builders= is not a role and a group." in result.stderr


def test_the_wsgi_application_starts_with_settings_that_work(production_env):
    result = run(["-c", "import nhiportal.wsgi"], production_env)
    assert result.returncode == 0, result.stderr


def test_a_worker_reads_what_each_api_operation_takes_before_its_first_call(production_env):
    """Built from the OpenAPI description in a second or more: as the worker starts, not while a
    client waits (nhiportal/api.py, TakesOnlyItsParameters)."""
    script = "import nhiportal.wsgi; from nhiportal.api import parameters_taken; print(parameters_taken.cache_info().currsize)"
    result = run(["-c", script], production_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1"]


def test_the_wsgi_application_refuses_to_start_with_settings_its_checks_refuse(production_env):
    """gunicorn runs no system checks: the WSGI module runs the portal's own before serving."""
    production_env["NHI_SSO_ISSUER"] = "https://idp.example.com"  # without the client id and secret
    result = run(["-c", "import nhiportal.wsgi"], production_env)
    assert result.returncode != 0
    assert "The portal's settings cannot work:" in result.stderr
    assert "(people.E001) NHI_SSO_ISSUER is set without NHI_SSO_CLIENT_ID and NHI_SSO_CLIENT_SECRET." in result.stderr


HEADERS_SCRIPT = """
import json, django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="portal.example.com")
https = client.get("/api/v1/identities/", secure=True)
http = client.get("/api/v1/identities/")
probe = client.get("/healthz")
print(json.dumps({"status": https.status_code, "headers": dict(https.headers),
                  "http_status": http.status_code, "http_location": http.headers.get("Location"),
                  "probe_status": probe.status_code}))
"""


def test_it_sends_the_security_headers_in_production(production_env):
    result = run(["-c", HEADERS_SCRIPT], production_env)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    headers = seen["headers"]
    assert seen["status"] == 401  # the API wants a token or a session
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert (seen["http_status"], seen["http_location"]) == (301, "https://portal.example.com/api/v1/identities/")


COOKIES_SCRIPT = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps([[s.SESSION_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_PATH, s.SESSION_COOKIE_DOMAIN],
                  [s.CSRF_COOKIE_NAME, s.CSRF_COOKIE_SECURE, s.CSRF_COOKIE_PATH, s.CSRF_COOKIE_DOMAIN]]))
"""


def test_its_cookies_are_kept_for_this_host_over_https_only(production_env):
    result = run(["-c", COOKIES_SCRIPT], production_env)
    assert result.returncode == 0, result.stderr
    # What a browser needs to honour the __Host- prefix: Secure, Path=/ and no Domain.
    assert json.loads(result.stdout) == [["__Host-sessionid", True, "/", None], ["__Host-csrftoken", True, "/", None]]


def test_a_load_balancer_probes_healthz_over_plain_http(production_env):
    result = run(["-c", HEADERS_SCRIPT], production_env)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["probe_status"] == 200  # not the redirect every other plain-HTTP request gets
