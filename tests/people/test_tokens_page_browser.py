import pytest

pytestmark = pytest.mark.browser


def test_it_creates_shows_once_and_revokes_a_token(page, login, alice):
    login(page, alice)
    page.goto("/accounts/tokens/")
    page.fill("input[name=name]", "nightly inventory sync")
    page.fill("input[name=days]", "30")
    page.click("text=Create token")
    raw = page.locator(".secret-once code").inner_text()
    assert raw.startswith("nhip_")
    page.goto("/accounts/tokens/")
    assert page.locator(".secret-once").count() == 0
    assert raw not in page.content()
    page.click("button:has-text('Revoke')")
    assert page.locator(".badge-revoked").inner_text() == "Revoked"
