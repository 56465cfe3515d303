"""The API answers each person at most NHI_API_RATE_PER_MINUTE calls a minute."""

import pytest
from django.core.cache import cache
from django.test import Client

from nhiportal.people.services import api_token_create

LIST = "/api/v1/identities/"


@pytest.fixture
def limited(settings):
    settings.NHI = {**settings.NHI, "API_RATE_PER_MINUTE": 3}
    cache.clear()
    yield
    cache.clear()


def test_past_the_limit_a_person_gets_429_with_retry_after(alice, bob, limited):
    _, raw = api_token_create(user=alice, name="sync", days=30)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert [api.get(LIST).status_code for _ in range(3)] == [200, 200, 200]
    refused = api.get(LIST)
    assert refused.status_code == 429 and "throttled" in refused.json()["detail"]
    assert 1 <= int(refused["Retry-After"]) <= 60
    # Counted per person, not per token or session: her browser session shares the count...
    browser = Client()
    browser.force_login(alice)
    assert browser.get(LIST).status_code == 429
    # ...and another person's is their own.
    other = Client()
    other.force_login(bob)
    assert other.get(LIST).status_code == 200


def test_a_forwarded_for_header_does_not_buy_more_calls(alice, limited):
    browser = Client()
    browser.force_login(alice)
    statuses = [browser.get(LIST, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_without_a_limit_nothing_is_throttled(alice, settings):
    settings.NHI = {**settings.NHI, "API_RATE_PER_MINUTE": 0}
    browser = Client()
    browser.force_login(alice)
    assert {browser.get(LIST).status_code for _ in range(10)} == {200}
