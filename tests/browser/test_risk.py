import pytest

from inventory.models import AIIdentity, Autonomy, Sensitivity
from nhiportal.audit.services import system_actor
from tests.tokens.conftest import make_agent  # noqa: F401  (fixture)
from tokens.posture import identities_score

pytestmark = pytest.mark.browser


def test_an_owner_finds_the_riskiest_identity_and_what_to_fix(page, login, alice, make_agent):  # noqa: F811
    make_agent(alice, name="calm-agent")
    make_agent(alice, name="bold-agent", autonomy=Autonomy.AUTONOMOUS, sensitivity_ceiling=Sensitivity.RESTRICTED)
    AIIdentity.objects.filter(name="bold-agent").update(attestation_due="2020-01-01")
    identities_score(actor=system_actor("tests"))
    login(page, alice)
    riskiest = page.locator("section[aria-label='Riskiest identities']")
    assert "bold-agent" in riskiest.inner_text() and "Medium · 25" in riskiest.inner_text()
    page.click("text=All identities, riskiest first")
    assert page.locator("tbody tr").first.locator("td[data-label='Name']").inner_text() == "bold-agent"
    page.click("text=bold-agent")
    panel = page.locator("section[aria-label='Risk']")
    panel.locator("table").wait_for()
    assert "Its attestation is overdue" in panel.inner_text() and "An owner attests" in panel.inner_text()
