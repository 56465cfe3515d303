"""Password guessing on the sign-in page is cut short, and written to the audit log."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def _try(client, username, password, address="198.51.100.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_five_wrong_passwords_lock_the_username_from_that_address_even_for_the_right_one(alice):
    client = Client()
    for _ in range(4):
        assert _try(client, "alice", "wrong-guess-123").status_code == 200  # the form, with its error
    locked = _try(client, "alice", "wrong-guess-123")
    assert locked.status_code == 429 and b"Sign-in locked for now" in locked.content and b"Try again in 15 minutes." in locked.content
    assert _try(Client(), "alice", PASSWORD).status_code == 429
    event = AuditEvent.objects.get(action="person.locked_out")
    assert event.object_repr == "alice" and event.after == {"ip_address": "198.51.100.7", "known_username": True}
    # Another address is not locked out of alice, nor is anyone else from this one.
    assert _try(Client(), "alice", PASSWORD, address="203.0.113.9").status_code == 302


def test_the_lock_lifts_after_the_cooloff_and_a_success_clears_the_count(alice, bob):
    client = Client()
    for _ in range(5):
        _try(client, "alice", "wrong-guess-123")
    assert _try(client, "alice", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _try(Client(), "alice", PASSWORD).status_code == 302
    for _ in range(4):
        _try(Client(), "bob", "wrong-guess-123")
    assert _try(Client(), "bob", PASSWORD).status_code == 302  # the fifth try, right: in, and the count cleared
    for _ in range(4):
        assert _try(Client(), "bob", "wrong-guess-123").status_code == 200


def test_an_unknown_username_is_locked_out_without_being_written_down(db):
    for _ in range(5):
        _try(Client(), "correct-horse-typed-in-the-wrong-box", "x")
    event = AuditEvent.objects.get(action="person.locked_out")
    assert event.object_id == "unknown" and "correct-horse" not in str(event.after) + event.object_repr


def test_the_oauth_endpoints_never_meet_the_lockout(alice):
    # Agents authenticate with signed assertions; the sign-in lockout is for people's passwords.
    for _ in range(6):
        _try(Client(), "alice", "wrong-guess-123")
    assert Client().get("/.well-known/oauth-authorization-server", REMOTE_ADDR="198.51.100.7").status_code == 200
