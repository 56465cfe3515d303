import pytest

from tests.webhooks.conftest import failed, receiver  # noqa: F401  (the live receiver, a failed delivery)

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


def test_a_security_admin_finds_a_failed_delivery_and_redelivers_it(page, login, sam, failed):  # noqa: F811
    endpoint, _secret, delivery = failed
    login(page, sam)
    page.goto(f"/webhooks/{endpoint.pk}/")
    page.click("text=All deliveries")
    page.select_option("select[name=outcome]", "failed")
    page.click("button:has-text('Filter')")
    assert "outcome=failed" in page.url
    page.click(f"a[href='/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/']")
    assert "answered 503" in page.locator("section[aria-label='Attempt']").inner_text()
    assert "billing-bot" in page.locator("section[aria-label='Payload'] pre").inner_text()
    page.click("button:has-text('Redeliver')")
    assert f"Queued: the next sweep sends event #{delivery.event_id}" in page.locator(".msg-success, .msg").first.inner_text()
