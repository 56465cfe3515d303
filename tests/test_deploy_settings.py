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


HEADERS_SCRIPT = """
import json, django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="portal.example.com")
https = client.get("/api/v1/identities/", secure=True)
http = client.get("/api/v1/identities/")
print(json.dumps({"status": https.status_code, "headers": dict(https.headers),
                  "http_status": http.status_code, "http_location": http.headers.get("Location")}))
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
