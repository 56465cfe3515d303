"""The browser tests' wait for htmx panels (tests/page_quiet.py) waits for them all: the
accessibility and layout tests judge pages as they are once their panels are in."""

import pytest

from tests.page_quiet import wait_until_quiet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PANELS = '[hx-trigger="load"]'


def test_it_returns_once_every_panel_of_the_identity_page_has_loaded(page, login, alice, make_identity):
    identity = make_identity(alice)
    login(page, alice)
    page.goto(f"/identities/{identity.pk}/")
    wait_until_quiet(page)
    assert page.locator(PANELS).count() >= 4
    still_loading = page.locator(PANELS).evaluate_all("panels => panels.filter(p => p.textContent.trim() === 'Loading…').length")
    assert still_loading == 0
