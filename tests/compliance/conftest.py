"""The compliance tests build their evidence with the token service's own fixtures."""

import pytest

from nhiportal.compliance.controls import assess, control_get
from tests.tokens.conftest import agent, crm, get_token, grant, make_agent, oauth  # noqa: F401
from tokens.policy.active import forget_active_policy


@pytest.fixture(autouse=True)
def fresh_policy_memo():
    """Each test's policy is its own: forget the active version a previous test's process remembered."""
    forget_active_policy()
    yield
    forget_active_policy()


def check(control_id):
    [assessment] = assess([control_get(control_id)])
    return assessment.result
