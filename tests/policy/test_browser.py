"""In the browser: a security admin writes, fixes and activates a version; an owner sees why a token was refused."""

import pytest
from django.urls import reverse

from tokens.policy.engine import policy_decide
from tokens.policy.models import PolicyVersion

from .conftest import issue_request

pytestmark = pytest.mark.browser

BROKEN = '@id("permit-all")\npermit (principal, action, resource)\nwhen {\n  principal.colour == "red"\n};\n'
FIXED = '@id("permit-all")\npermit (principal, action, resource)\nwhen {\n  principal.status == "active"\n};\n'
EXAMPLES = '[{"name": "active agents pass", "expect": "allow"}]'


def test_a_security_admin_fixes_an_error_shown_at_its_line_then_activates(page, login, sam):
    login(page, sam)
    page.goto(reverse("policy:version-create"))
    assert "@id(\"permit-active-agent-granted-scopes\")" in page.input_value("textarea[name=text]")
    page.fill("textarea[name=text]", BROKEN)
    page.fill("textarea[name=examples]", EXAMPLES)
    page.click("button:has-text('Save version')")
    assert "Line 4:" in page.locator("#id_text_error").inner_text()
    assert "colour" in page.locator("tr#line-4").inner_text()
    assert not PolicyVersion.objects.exists()

    page.fill("textarea[name=text]", FIXED)
    page.click("button:has-text('Save version')")
    page.wait_for_url("**/policy/versions/1/")
    assert "pass" in page.locator("section[aria-label=Examples]").inner_text()
    page.click("button:has-text('Activate version 1')")
    assert "Version 1 is now active." in page.locator(".messages").inner_text()
    assert PolicyVersion.objects.get().is_active


def test_an_owner_sees_which_policy_refused_their_agent(page, login, alice, agent, crm):
    policy_decide(issue_request(agent, crm, requested_ttl=3600))
    login(page, alice)
    page.goto(reverse("inventory:identity-detail", args=[agent.pk]))
    panel = page.locator("section[aria-label='Policy decisions']")
    panel.locator("table").wait_for()
    assert "forbid-ttl-above-ceiling" in panel.inner_text()
    assert "Deny" in panel.inner_text()


def test_a_security_admin_adds_a_library_rule_with_its_examples_and_saves_it(page, login, sam):
    login(page, sam)
    page.goto(reverse("policy:version-create"))
    shipped = page.input_value("textarea[name=text]")
    page.fill("textarea[name=examples]", "[{\"name\": \"unfinished\"")
    page.click("summary:has-text('High-risk agents stay off confidential data')")
    add = page.locator("button[data-library-rule='high-risk-agents-stay-off-confidential-data']")
    add.click()
    assert "Nothing was added" in page.locator("#library-status").inner_text()
    assert page.input_value("textarea[name=text]") == shipped

    page.fill("textarea[name=examples]", '[{"name": "active agents pass", "expect": "allow"}]')
    add.click()
    assert "Added “High-risk agents stay off confidential data” and its 2 examples" in page.locator("#library-status").inner_text()
    add.click()
    assert "in this version already" in page.locator("#library-status").inner_text()
    assert page.input_value("textarea[name=text]").count('@id("high-risk-agents-stay-off-confidential-data")') == 1
    page.click("button:has-text('Save version')")
    page.wait_for_url("**/policy/versions/1/")
    version = PolicyVersion.objects.get()
    assert 'principal.risk_score >= 40' in version.text and version.text.startswith(shipped.rstrip())
    assert [e["name"] for e in version.examples] == [
        "active agents pass", "A high-risk agent is refused confidential data", "A high-risk agent still gets internal data",
    ]
    assert "All pass" in page.locator("section[aria-label=Examples]").inner_text()
