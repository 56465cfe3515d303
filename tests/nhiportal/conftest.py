"""Project-wide tests reach for the token service's fixtures too, and walk the demo portal."""

import pytest
from django.core.management import call_command

from tests.tokens.conftest import agent, crm, make_agent  # noqa: F401


@pytest.fixture
def portal(db):
    """The demo portal, small: every kind of object the pages show, from every persona."""
    call_command("demo_data", "--identities", "24", stdout=open("/dev/null", "w"))
