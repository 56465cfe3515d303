"""Project-wide tests reach for the token service's fixtures too, and walk the demo portal."""

import pytest
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from tests.tokens.conftest import agent, crm, make_agent  # noqa: F401


@pytest.fixture
def portal(db):
    """The demo portal, small: every kind of object the pages show, from every persona."""
    call_command("demo_data", "--identities", "24", stdout=open("/dev/null", "w"))


@pytest.fixture
def connection_kept():
    """For tests that call the WSGI application directly (the schemathesis ones): the test's
    transaction must outlive each request, as Django's test client keeps the connection open
    across requests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
