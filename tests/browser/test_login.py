import pytest

pytestmark = pytest.mark.browser


def test_it_logs_a_person_in_and_shows_the_dashboard(page, login, alice):
    login(page, alice)
    assert page.locator("h1").first.inner_text() == "Dashboard"
    assert "alice" in page.locator(".topbar").inner_text()


def test_it_refuses_a_wrong_password(page, alice):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "not-her-password")
    page.click("button[type=submit]")
    assert "correct username and password" in page.locator(".alert-error").inner_text()
