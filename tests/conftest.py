"""The cast every test uses, healthchecks-style:

- alice and bob own identities (bob is alice's backup on some);
- charlie is an outsider: logged in, no role, owns nothing;
- rita reviews, carol is compliance (read-only), sam is a security admin.
"""

import os
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth import get_user_model
from django.test import Client
from jwt.algorithms import ECAlgorithm

from inventory.models import Environment, Kind, Sensitivity
from inventory.services import identity_register
from nhiportal.audit.services import system_actor
from nhiportal.people.roles import COMPLIANCE, OWNER, REVIEWER, SECURITY_ADMIN
from nhiportal.people.services import role_assign
from tests import page_quiet
from tokens.credentials import credential_add_jwk
from tokens.keys import signer_cache_clear

PASSWORD = "correct-horse-battery-staple"


def _person(username, *roles):
    user = get_user_model().objects.create_user(username=username, email=f"{username}@example.com", password=PASSWORD)
    for role in roles:
        role_assign(user=user, role=role, actor=system_actor("tests"))
    return user


@pytest.fixture(scope="session", autouse=True)
def _end_stray_database_sessions(django_db_setup, django_db_blocker):
    """On PostgreSQL, end sessions the live server's request threads left open.

    A browser keeps its connections alive, so a request thread can still hold its database
    session when the run ends, and PostgreSQL refuses to drop a test database in use.
    """
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _postgres_marked_tests_need_postgresql(request):
    """@pytest.mark.postgres("why"): the test runs on PostgreSQL only, the others skip it (races
    need row locks; SQLite serializes every write anyway)."""
    marker = request.node.get_closest_marker("postgres")
    if marker is not None:
        from django.db import connection

        if connection.vendor != "postgresql":
            pytest.skip(f"needs PostgreSQL: {marker.args[0] if marker.args else 'SQLite serializes every write anyway'}")


@pytest.fixture
def alice(db):
    return _person("alice", OWNER)


@pytest.fixture
def bob(db):
    return _person("bob", OWNER)


@pytest.fixture
def charlie(db):
    return _person("charlie")


@pytest.fixture
def rita(db):
    return _person("rita", REVIEWER)


@pytest.fixture
def carol(db):
    return _person("carol", COMPLIANCE)


@pytest.fixture
def sam(db):
    return _person("sam", SECURITY_ADMIN)


@pytest.fixture
def client_for():
    """A logged-in test client for a person."""

    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture(autouse=True)
def _forget_cached_signing_key():
    """Each test's database starts without signing keys: forget the key a previous test's process cached."""
    signer_cache_clear()


@pytest.fixture
def make_identity(db):
    """Register an identity through the real service; complete enough to activate unless told otherwise.

    credential=True attaches a generated public JWK (activation needs a workload credential).
    """
    counter = {"n": 0}

    def make(owner, *, backups=(), credential=True, **fields):
        counter["n"] += 1
        values = {
            "name": f"agent-{counter['n']}",
            "kind": Kind.AGENT,
            "environment": Environment.PRODUCTION,
            "purpose": "Summarises support tickets for the on-call engineer.",
            "trust_boundary": "corp-internal",
            "autonomy": "supervised",
            "sensitivity_ceiling": Sensitivity.CONFIDENTIAL,
            "offboarding_plan": "Disable the key, end tasks, archive prompts.",
        }
        values.update(fields)
        identity = identity_register(actor=owner, primary_owner=owner, backup_owners=backups, **values)
        if credential:
            # Activation needs a workload credential; the private half is thrown away.
            jwk = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True)
            credential_add_jwk(actor=owner, identity=identity, jwk=jwk)
        return identity

    return make


# Browser tests: Playwright drives Debian's chromium; its own browser download cannot work here.
CHROMIUM = os.environ.get("NHI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    # Playwright's sync API runs an event loop in this thread; Django must still allow ORM calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    traffic = page_quiet.watch(page)
    yield page
    # A panel htmx still loads when the test ends would query the database while the test
    # empties it (on PostgreSQL, a deadlock with the flush): let the page's requests finish.
    deadline = time.monotonic() + 5
    while traffic.pending and time.monotonic() < deadline:
        page.wait_for_timeout(20)
    context.close()


@pytest.fixture
def login():
    """Log a person in through the real login form."""

    def do(page, user):
        # The page before may still be loading its htmx panels: a late answer to one of those
        # would set a CSRF cookie that no longer matches the login form's token.
        page_quiet.wait_until_quiet(page)
        page.goto("/accounts/login/")
        page.fill("input[name=username]", user.get_username())
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)

    return do


@pytest.fixture
def audit_actions_during(db):
    """Run a change; return what it returned and the audit actions it wrote, in order."""
    from nhiportal.audit.models import AuditEvent

    def run(change):
        first = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        result = change()
        return result, list(AuditEvent.objects.filter(id__gt=first).order_by("id").values_list("action", flat=True))

    return run


@pytest.fixture
def oidc_provider(settings):
    """A live OpenID Connect provider (tests/oidc_provider.py) that the portal's single sign-on
    points at; `settings.SSO = oidc_provider.settings(...)` changes how the portal uses it."""
    from tests.oidc_provider import OIDCProvider

    provider = OIDCProvider().start()
    settings.SSO = provider.settings()
    yield provider
    provider.stop()
