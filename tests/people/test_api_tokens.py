"""Personal API tokens: the page that creates, lists and revokes them."""

import re

from django.urls import reverse

from nhiportal.audit.models import AuditEvent
from nhiportal.people.models import PersonalAPIToken, hash_api_token
from nhiportal.people.services import api_token_create

PAGE = reverse("people:token-list")


def created_token(response) -> str:
    match = re.search(r'class="secret-once".*?<code>(nhip_[^<]+)</code>', response.content.decode(), re.S)
    assert match, "the new token is shown in a secret-once box"
    return match.group(1)


def test_it_shows_an_empty_state(alice, client_for):
    response = client_for(alice).get(PAGE)
    assert response.status_code == 200
    assert "No API tokens yet" in response.content.decode()


def test_it_shows_a_new_token_once_and_stores_only_its_hash(alice, client_for):
    api = client_for(alice)
    response = api.post(PAGE, {"name": "inventory sync", "days": "30"})
    assert response.status_code == 200
    raw = created_token(response)
    assert "no-store" in response["Cache-Control"]
    token = PersonalAPIToken.objects.get(user=alice)
    assert token.token_hash == hash_api_token(raw)
    assert raw.startswith(token.hint)
    # Never again: not on the list page, not in any stored column.
    assert raw not in api.get(PAGE).content.decode()
    stored = PersonalAPIToken.objects.filter(pk=token.pk).values_list().get()
    assert raw not in " ".join(str(value) for value in stored)
    assert raw not in str(AuditEvent.objects.get(action="api_token.create").after)


def test_it_lists_tokens_with_their_status(alice, client_for):
    api_token_create(user=alice, name="live one", days=5)
    revoked, _ = api_token_create(user=alice, name="revoked one", days=5)
    revoked.revoked_at = revoked.created_at
    revoked.save()
    page = client_for(alice).get(PAGE).content.decode()
    assert "live one" in page and "badge-live" in page
    assert "revoked one" in page and "badge-revoked" in page


def test_it_shows_errors_next_to_the_fields(alice, client_for):
    response = client_for(alice).post(PAGE, {"name": "", "days": "400"})
    assert response.status_code == 400
    page = response.content.decode()
    assert page.count('class="error"') == 2
    assert "secret-once" not in page
    assert not PersonalAPIToken.objects.exists()


def test_it_revokes_a_token(alice, client_for):
    token, _ = api_token_create(user=alice, name="ci", days=5)
    response = client_for(alice).post(reverse("people:token-revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="api_token.revoke", object_id=str(token.pk)).count() == 1


def test_it_does_not_let_someone_else_revoke_your_token(alice, charlie, sam, client_for):
    token, _ = api_token_create(user=alice, name="ci", days=5)
    for person in (charlie, sam):
        assert client_for(person).post(reverse("people:token-revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_it_does_not_show_your_tokens_to_anyone_else(alice, charlie, client_for):
    api_token_create(user=alice, name="alice's script", days=5)
    assert "alice&#x27;s script" not in client_for(charlie).get(PAGE).content.decode()


def test_it_revokes_only_by_post(alice, client_for):
    token, _ = api_token_create(user=alice, name="ci", days=5)
    assert client_for(alice).get(reverse("people:token-revoke", args=[token.pk])).status_code == 405


def test_it_asks_anonymous_visitors_to_log_in(db, client):
    assert client.get(PAGE).status_code == 302
