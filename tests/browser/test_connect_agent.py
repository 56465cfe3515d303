import pytest

from tests.tokens.conftest import make_agent  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def test_an_owner_opens_connect_the_agent_and_reads_its_client_id(page, login, alice, make_agent):  # noqa: F811
    agent = make_agent(alice, name="ticket-summariser")
    login(page, alice)
    page.goto(f"/identities/{agent.identity.pk}/")
    section = page.locator("section[aria-label='Connect the agent']")
    assert not section.locator("pre").is_visible()
    section.locator("summary").click()
    section.locator("pre").wait_for()
    assert agent.identity.client_id in section.inner_text() and f'kid="{agent.kid}"' in section.inner_text()
