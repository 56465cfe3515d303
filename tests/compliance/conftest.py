"""The compliance tests build their evidence with the token service's own fixtures."""

from tests.tokens.conftest import agent, crm, get_token, grant, make_agent, oauth  # noqa: F401
