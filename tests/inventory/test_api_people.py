"""The people API: readers read, security admins hand over, deactivate and set roles."""

import pytest
from django.contrib.auth import get_user_model

from inventory.models import Ownership, OwnerRole
from nhiportal.audit.models import AuditEvent
from nhiportal.people.roles import roles_of
from nhiportal.people.services import api_token_create
from tests.people.test_ending_sessions import made_token, signed_in

pytestmark = pytest.mark.django_db

API = "/api/v1/people/"


def _post(client, path, data, method="post"):
    return getattr(client, method)(path, data, content_type="application/json")


@pytest.mark.parametrize("persona", ["rita", "carol", "sam"])
def test_readers_list_people_and_read_what_one_owns(persona, request, client_for, alice, bob, make_identity):
    identity = make_identity(alice, name="solo-agent", backups=[bob])
    client = client_for(request.getfixturevalue(persona))
    rows = {p["username"]: p for p in client.get(API).json()["results"]}
    assert rows["alice"]["primary_count"] == 1 and rows["alice"]["roles"] == ["owner"] and rows["bob"]["backup_count"] == 1
    assert [p["username"] for p in client.get(API, {"role": "owner", "q": "ali"}).json()["results"]] == ["alice"]
    one = client.get(f"{API}{alice.pk}/").json()
    assert one["owns"] == [{"id": str(identity.pk), "name": "solo-agent", "status": "registered", "role": "primary", "other_active_owner": True}]


@pytest.mark.parametrize("persona", ["alice", "charlie"])
def test_owners_and_outsiders_are_refused(persona, request, client_for, bob):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(API).status_code == 403
    assert client.get(f"{API}{bob.pk}/").status_code == 403
    assert _post(client, f"{API}{bob.pk}/deactivate/", {"reason": "x"}).status_code == 403
    assert get_user_model().objects.get(pk=bob.pk).is_active


def test_readers_change_nobody_and_nobody_changes_themselves(client_for, rita, sam, bob):
    assert _post(client_for(rita), f"{API}{bob.pk}/deactivate/", {"reason": "Left."}).status_code == 403
    assert _post(client_for(sam), f"{API}{sam.pk}/roles/", {"roles": []}, "put").status_code == 403
    assert roles_of(get_user_model().objects.get(pk=sam.pk)) == {"security_admin"}


def test_bad_filters_and_bodies_are_400_with_the_field_named(client_for, sam, alice, bob):
    client = client_for(sam)
    assert "role" in client.get(API, {"role": "king"}).json()
    assert "reason" in _post(client, f"{API}{alice.pk}/deactivate/", {}).json()
    assert "successor" in _post(client, f"{API}{alice.pk}/handover/", {"successor": 999999, "reason": "Leaves."}).json()
    assert "successor" in _post(client, f"{API}{alice.pk}/handover/", {"successor": alice.pk, "reason": "Leaves."}).json()
    assert "roles" in _post(client, f"{API}{bob.pk}/roles/", {"roles": ["king"]}, "put").json()
    assert client.get(f"{API}999999/").status_code == 404
    assert get_user_model().objects.get(pk=alice.pk).is_active and not AuditEvent.objects.filter(action__startswith="person.").exclude(actor_label="system:tests").exists()


def test_a_security_admin_hands_over_deactivates_and_sets_roles(client_for, sam, alice, bob, make_identity):
    identity = make_identity(alice, name="solo-agent")
    client = client_for(sam)
    moved = _post(client, f"{API}{alice.pk}/handover/", {"successor": bob.pk, "reason": "Alice leaves."})
    assert moved.status_code == 200 and moved.json() == {"identities": 1, "services": 0}
    assert {o.person.username: o.role for o in Ownership.objects.filter(identity=identity)} == {"bob": OwnerRole.PRIMARY}
    gone = _post(client, f"{API}{alice.pk}/deactivate/", {"reason": "Left."})
    assert gone.status_code == 200 and gone.json()["is_active"] is False
    again = _post(client, f"{API}{alice.pk}/deactivate/", {"reason": "Left."})
    assert again.status_code == 409 and again.json() == {"detail": "This person is already inactive."}
    back = _post(client, f"{API}{alice.pk}/reactivate/", {})
    assert back.status_code == 200 and back.json()["is_active"] is True
    roles = _post(client, f"{API}{bob.pk}/roles/", {"roles": ["owner", "compliance"]}, "put")
    assert roles.status_code == 200 and roles.json()["roles"] == ["owner", "compliance"]
    assert [e.action for e in AuditEvent.objects.filter(actor_label="sam").order_by("id")] == [
        "identity.owners_set", "person.deactivate", "person.reactivate", "person.roles_set",
    ]


def test_a_person_says_how_they_sign_in_and_a_lost_factor_is_reset(client_for, sam, rita, alice):
    from nhiportal.people.models import SecondFactor
    from nhiportal.people.second_factor import encrypt_secret

    SecondFactor.objects.create(user=alice, secret_encrypted=encrypt_secret("JBSWY3DPEHPK3PXP"))
    detail = client_for(rita).get(f"{API}{alice.pk}/").json()
    assert detail["sign_in"] == {"single_sign_on": False, "password": True, "second_factor": True, "kept_by_directory": False, "open_sessions": 0}
    url = f"{API}{alice.pk}/second-factor/reset/"
    assert client_for(rita).post(url, {"reason": "lost"}, content_type="application/json").status_code == 403
    assert client_for(sam).post(url, {}, content_type="application/json").status_code == 400
    assert client_for(sam).post(f"{API}{sam.pk}/second-factor/reset/", {"reason": "mine"}, content_type="application/json").status_code == 403
    reset = client_for(sam).post(url, {"reason": "phone lost"}, content_type="application/json")
    assert reset.status_code == 200 and reset.json()["sign_in"]["second_factor"] is False
    assert AuditEvent.objects.get(action="person.second_factor_removed").reason == "phone lost"


def test_ending_sessions_and_deactivating_answer_how_many_api_tokens_were_revoked(client_for, sam, alice):
    made_token(signed_in(alice))
    api_token_create(user=alice, name="made outside any session", days=30)
    client = client_for(sam)
    ended = _post(client, f"{API}{alice.pk}/sessions/end/", {"reason": "Laptop stolen."})
    assert ended.status_code == 200 and ended.json() == {"sessions_ended": 1, "api_tokens_revoked": 1}
    assert _post(client, f"{API}{alice.pk}/sessions/end/", {"reason": "Again."}).json() == {"sessions_ended": 0, "api_tokens_revoked": 0}
    gone = _post(client, f"{API}{alice.pk}/deactivate/", {"reason": "Left."})
    assert gone.status_code == 200 and gone.json()["is_active"] is False and gone.json()["api_tokens_revoked"] == 1  # the one left
