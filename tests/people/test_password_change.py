"""Changing one's password (/accounts/password/): the old password is checked as the sign-in
page checks one, so wrong ones count toward the same lockout; the change signs the other
browsers out and revokes the API tokens made in them; one audit event, never the password."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from nhiportal.people.models import PortalSession
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
PAGE = "/accounts/password/"
NEW = "a-new-long-passphrase-2026"


def signed_in(person, *, address="127.0.0.1") -> Client:
    client = Client(REMOTE_ADDR=address)
    assert client.post("/accounts/login/", {"username": person.get_username(), "password": PASSWORD}).status_code == 302
    return client


def change(client, old, new=NEW):
    return client.post(PAGE, {"old_password": old, "new_password1": new, "new_password2": new})


def made_token(client) -> str:
    response = client.post("/accounts/tokens/", {"name": "script", "days": "30"})
    assert response.status_code == 200
    return response.context["raw_token"]


def answer(raw) -> int:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/identities/").status_code


def test_wrong_old_passwords_lock_the_form_as_they_lock_the_sign_in(alice, settings):
    thief = signed_in(alice)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        wrong = change(thief, "guess-guess-123")
        assert wrong.status_code == 200 and "Your old password was entered incorrectly" in wrong.context["form"].errors["old_password"][0]
    locked = change(thief, "guess-guess-123")
    assert locked.status_code == 200  # the form, with the lock next to the field
    [error] = locked.context["form"].errors["old_password"]
    assert error.startswith("Too many wrong passwords for your account from this address: try again after")
    assert 'id="id_old_password_error"' in locked.content.decode()
    # For the lockout period, the right old password is refused too, and so is signing in from here.
    assert "Too many wrong passwords" in change(thief, PASSWORD).context["form"].errors["old_password"][0]
    assert get_user_model().objects.get(pk=alice.pk).check_password(PASSWORD)
    assert Client().post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 429
    assert AuditEvent.objects.filter(action="person.locked_out", object_repr="alice").count() == 1
    assert not AuditEvent.objects.filter(action="person.password_changed").exists()
    # What axes keeps of the attempts holds neither the old passwords tried nor the new one.
    kept = " ".join(str(value) for row in AccessAttempt.objects.values_list() for value in row)
    assert "guess-guess-123" not in kept and PASSWORD not in kept and NEW not in kept
    # Then it lifts.
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(minutes=1))
    assert change(thief, PASSWORD).status_code == 302


def test_wrong_sign_ins_and_wrong_old_passwords_add_up_to_one_lockout(alice, settings):
    here = signed_in(alice)
    for _ in range(settings.AXES_FAILURE_LIMIT - 2):
        Client().post("/accounts/login/", {"username": "alice", "password": "guess-guess-123"})
    change(here, "guess-guess-123")
    assert "Too many wrong passwords" in change(here, "guess-guess-123").context["form"].errors["old_password"][0]


def test_a_password_change_writes_one_event_and_never_the_password(alice, audit_actions_during):
    here = signed_in(alice)
    response, actions = audit_actions_during(lambda: change(here, PASSWORD))
    assert response.status_code == 302 and response["Location"] == "/accounts/password/done/"
    assert actions == ["person.password_changed"]
    event = AuditEvent.objects.get(action="person.password_changed")
    assert (event.actor_label, event.object_repr, event.after) == ("alice", "alice", {"sessions_ended": 0, "api_tokens_revoked": 0})
    everything = " ".join(str(value) for value in AuditEvent.objects.filter(pk=event.pk).values_list().get())
    assert NEW not in everything and PASSWORD not in everything
    assert get_user_model().objects.get(pk=alice.pk).check_password(NEW)


def test_a_password_change_signs_out_other_browsers_and_revokes_the_tokens_made_in_them(alice, bob):
    here, stolen_browser, bobs = signed_in(alice), signed_in(alice), signed_in(bob)
    mine, exfiltrated, bobs_token = made_token(here), made_token(stolen_browser), made_token(bobs)

    response = change(here, PASSWORD)
    assert response.status_code == 302
    done = here.get(response["Location"])  # this browser stays signed in
    assert done.status_code == 200 and "Signed out 1 other session and revoked 1 API token made there." in done.content.decode()
    assert stolen_browser.get("/").status_code == 302 and bobs.get("/").status_code == 200
    assert PortalSession.objects.filter(user=alice).count() == 1  # ended, not merely refused on its next request
    assert answer(exfiltrated) == 401 and answer(mine) == 200 and answer(bobs_token) == 200
    assert AuditEvent.objects.get(action="person.password_changed").after == {"sessions_ended": 1, "api_tokens_revoked": 1}
    assert "Its session was ended when your password was changed." in here.get("/accounts/tokens/").content.decode()
