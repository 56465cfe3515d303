"""Sessions: the cookie carries the id; the table and the cache keep only its digest."""

from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.core.cache import cache
from django.test import Client, override_settings

from nhiportal.people.cached_sessions import SessionStore as CachedSessionStore
from nhiportal.people.models import PortalSession, session_key_digest

PASSWORD = "correct horse battery staple 2026"


def _signed_in(person) -> tuple[Client, str]:
    person.set_password(PASSWORD)
    person.save()
    client = Client()
    response = client.post("/accounts/login/", {"username": person.username, "password": PASSWORD})
    assert response.status_code == 302
    return client, client.cookies["sessionid"].value


def test_the_database_keeps_only_a_digest_of_the_session_id(alice):
    client, session_id = _signed_in(alice)

    [row] = PortalSession.objects.all()
    assert row.pk == session_key_digest(session_id) and session_id not in (row.pk, row.session_data)
    assert client.get("/").status_code == 200  # the id in the cookie still signs her in


def test_a_stolen_copy_of_the_table_signs_nobody_in(alice):
    _signed_in(alice)
    thief = Client()
    thief.cookies["sessionid"] = PortalSession.objects.get().pk
    assert thief.get("/").status_code == 302  # to the login page


def test_signing_out_deletes_the_session(alice):
    client, session_id = _signed_in(alice)
    client.post("/accounts/logout/")
    # Looked up by the id, as the engine does (the field hashes what it is given).
    assert not PortalSession.objects.filter(session_key=session_id).exists()


@override_settings(SESSION_ENGINE="nhiportal.people.cached_sessions")
def test_the_cache_in_front_keeps_only_the_digest_too(alice):
    client, session_id = _signed_in(alice)

    assert cache.get(KEY_PREFIX + session_id) is None
    assert cache.get(KEY_PREFIX + session_key_digest(session_id)) is not None
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert cache.get(KEY_PREFIX + session_key_digest(session_id)) is None
    assert not PortalSession.objects.filter(session_key=session_id).exists()


@override_settings(SESSION_ENGINE="nhiportal.people.cached_sessions")
def test_ending_a_session_from_its_stored_row_ends_it_in_the_cache_too(alice):
    # How "sign this person out everywhere" goes: from the rows, whose keys are digests.
    client, session_id = _signed_in(alice)
    for row in PortalSession.objects.all():
        CachedSessionStore(row.session_key).delete()
    assert cache.get(KEY_PREFIX + session_key_digest(session_id)) is None
    assert client.get("/").status_code == 302
