import pytest

from tests.webhooks.conftest import receiver  # noqa: F401  (the live receiver fixture)

pytestmark = pytest.mark.browser


def test_a_security_admin_adds_a_webhook_and_sends_a_test_event(page, login, sam, receiver):  # noqa: F811
    login(page, sam)
    page.click("nav >> text=Webhooks")
    page.click("text=Add a webhook")
    page.fill("input[name=url]", receiver.url)
    page.fill("input[name=description]", "SOC alerts")
    page.check("input[value=security]")
    page.click("button:has-text('Add')")
    assert page.locator(".secret-once code").inner_text().startswith("whsec_")
    page.click("button:has-text('Send a test event')")
    assert "The receiver answered 204" in page.locator(".msg-success, .msg").first.inner_text()
    assert "webhook.test" in page.locator("section[aria-label='Recent deliveries']").inner_text()
    assert len(receiver.requests) == 1
