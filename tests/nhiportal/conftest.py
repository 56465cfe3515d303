"""Project-wide tests reach for the token service's fixtures too."""

from tests.tokens.conftest import agent, crm, make_agent  # noqa: F401
