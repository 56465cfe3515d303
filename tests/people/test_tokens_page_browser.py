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


def test_a_browser_signed_in_long_ago_gives_the_password_before_a_token_and_reads_why_one_was_revoked(page, login, alice, sam):
    from datetime import timedelta

    from django.utils import timezone

    from nhiportal.people.ending_sessions import person_sessions_end
    from nhiportal.people.sessions import SIGN_IN_KEY, SessionStore
    from tests.conftest import PASSWORD

    login(page, alice)
    # This browser signed in an hour ago (a laptop left open since).
    [cookie] = [c for c in page.context.cookies() if c["name"] == "sessionid"]
    session = SessionStore(session_key=cookie["value"])
    session[SIGN_IN_KEY] = {**session[SIGN_IN_KEY], "at": (timezone.now() - timedelta(hours=1)).isoformat()}
    session.save()

    page.goto("/accounts/tokens/")
    assert "Your password is asked again first" in page.locator("#confirmation-note").inner_text()
    page.fill("input[name=name]", "nightly inventory sync")
    page.fill("input[name=confirm_password]", "not-my-password")
    page.click("text=Create token")
    assert page.locator("#id_confirm_password_error").inner_text() == "That is not your password."
    assert page.locator(".secret-once").count() == 0
    page.fill("input[name=confirm_password]", PASSWORD)
    page.click("text=Create token")
    assert page.locator(".secret-once code").inner_text().startswith("nhip_")
    assert page.locator("input[name=confirm_password]").count() == 0  # confirmed for ten minutes

    person_sessions_end(person=alice, actor=sam, reason="Laptop stolen.")
    login(page, alice)
    page.goto("/accounts/tokens/")
    assert page.locator(".badge-revoked").inner_text() == "Revoked"
    assert page.locator(".revoke-reason").inner_text() == "Its session was ended by a security admin: Laptop stolen."
