"""The directory's writes over SCIM (nhiportal/people/directory_sync.py) each leave their event,
over the real SCIM URL with a real directory sync token."""

import json

import pytest
from django.test import Client

from nhiportal.audit.models import AuditEvent
from nhiportal.people.models import DirectoryEntry, TokenPurpose
from nhiportal.people.services import api_token_create

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def directory(sam):
    _, raw = api_token_create(user=sam, name="okta", days=30, purpose=TokenPurpose.DIRECTORY_SYNC)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_a_person_the_portal_made_joining_the_directory_writes_one_audit_event(directory, sam, bob, audit_actions_during):
    # Bob as the portal has him: the directory's PUT changes nothing of his profile, but makes
    # him one of the directory's people, whom single sign-on may then link by his userName.
    body = {"schemas": [CORE], "userName": "bob", "emails": [{"primary": True, "value": "bob@example.com"}], "active": True}

    response, actions = audit_actions_during(
        lambda: directory.put(f"/scim/v2/Users/{bob.pk}", data=json.dumps(body), content_type="application/scim+json")
    )

    assert response.status_code == 200, response.content
    assert DirectoryEntry.objects.filter(user=bob).exists()
    assert actions == ["person.directory_updated"]
    event = AuditEvent.objects.get(action="person.directory_updated")
    assert (event.actor_id, event.before, event.after) == (sam.pk, {"external_id": None}, {"external_id": ""})


def test_the_same_put_again_writes_nothing(directory, bob, audit_actions_during):
    body = {"schemas": [CORE], "userName": "bob", "emails": [{"primary": True, "value": "bob@example.com"}], "active": True}
    directory.put(f"/scim/v2/Users/{bob.pk}", data=json.dumps(body), content_type="application/scim+json")

    response, actions = audit_actions_during(
        lambda: directory.put(f"/scim/v2/Users/{bob.pk}", data=json.dumps(body), content_type="application/scim+json")
    )

    assert response.status_code == 200 and actions == []
