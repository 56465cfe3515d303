"""Personal API tokens authenticate API calls: `Authorization: Bearer nhip_...`."""

from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from nhiportal.people.models import PersonalAPIToken
from nhiportal.people.services import api_token_create, api_token_revoke

LIST = reverse("api:identity-list")


def bearer(raw):
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_it_authenticates_an_api_call_as_the_tokens_owner(alice, make_identity):
    make_identity(alice, name="support-copilot")
    _, raw = api_token_create(user=alice, name="script", days=1)
    response = bearer(raw).get(LIST)
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["support-copilot"]


def test_it_writes_with_a_token_without_a_csrf_token(alice, make_identity):
    identity = make_identity(alice)
    _, raw = api_token_create(user=alice, name="script", days=1)
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {raw}"})
    response = client.post(reverse("api:identity-activate", args=[identity.pk]), {}, content_type="application/json")
    assert response.status_code == 200


def test_it_records_when_a_token_was_last_used(alice):
    token, raw = api_token_create(user=alice, name="script", days=1)
    bearer(raw).get(LIST)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_it_refuses_an_expired_token_with_a_401(alice):
    token, raw = api_token_create(user=alice, name="script", days=1)
    PersonalAPIToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = bearer(raw).get(LIST)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_it_refuses_a_revoked_token_with_a_401(alice):
    token, raw = api_token_create(user=alice, name="script", days=1)
    api_token_revoke(token=token, actor=alice)
    assert bearer(raw).get(LIST).status_code == 401


def test_it_refuses_a_token_of_a_deactivated_person(alice):
    _, raw = api_token_create(user=alice, name="script", days=1)
    alice.is_active = False
    alice.save()
    assert bearer(raw).get(LIST).status_code == 401


def test_it_refuses_an_unknown_token_without_echoing_it(db):
    response = bearer("nhip_made-up-value").get(LIST)
    assert response.status_code == 401
    assert "made-up-value" not in response.content.decode()


def test_it_accepts_the_scheme_in_any_case(alice):
    _, raw = api_token_create(user=alice, name="script", days=1)
    assert Client(headers={"Authorization": f"bearer {raw}"}).get(LIST).status_code == 200
