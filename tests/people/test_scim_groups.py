"""The organisation's directory pushes its groups over SCIM 2.0 (/scim/v2/Groups), and where
NHI_SSO_ROLE_GROUPS maps them, people's roles follow them: payloads as Okta and Entra ID send
them, over real URLs with a real directory sync token."""

import json
import threading
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from nhiportal.audit.models import AuditEvent
from nhiportal.people.models import DirectoryGroup, PersonalAPIToken, TokenPurpose
from nhiportal.people.roles import roles_of
from nhiportal.people.services import api_token_create, api_token_revoke, person_roles_set

pytestmark = pytest.mark.django_db
User = get_user_model()
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM = "application/scim+json"
MAPPING = [("security_admin", "secops"), ("reviewer", "nhi-reviewers"), ("owner", "ai-builders")]


@pytest.fixture
def directory(sam):
    """The identity provider's HTTP client, holding sam's directory sync token."""
    _, raw = api_token_create(user=sam, name="okta", days=30, purpose=TokenPurpose.DIRECTORY_SYNC)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def roles_follow_groups(settings):
    settings.SSO = {**settings.SSO, "ROLE_GROUPS": MAPPING}


def send(client, method, path, body=None):
    data = json.dumps(body) if body is not None else ""
    response = getattr(client, method)(f"/scim/v2/{path}", data=data, content_type=SCIM)
    payload = json.loads(response.content) if response.content else None
    return response, payload


def push(client, name, *people, external_id=None):
    """Okta's Push Groups: POST the group with its members."""
    body = {"schemas": [GROUP], "displayName": name, "members": [{"value": str(p.pk), "display": p.username} for p in people]}
    if external_id:
        body["externalId"] = external_id
    response, group = send(client, "post", "Groups", body)
    assert response.status_code == 201, group
    return group


def patch(client, group_id, *operations):
    return send(client, "patch", f"Groups/{group_id}", {"schemas": [PATCH], "Operations": list(operations)})


def member_ids(client, group_id) -> set[str]:
    _, group = send(client, "get", f"Groups/{group_id}")
    return {member["value"] for member in group.get("members", [])}


def actions_since(first: int) -> list[str]:
    return list(AuditEvent.objects.filter(id__gt=first).order_by("id").values_list("action", flat=True))


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_it_creates_a_group_with_its_members_in_one_audit_event(directory, sam, alice, bob):
    first = last_event_id()
    response, body = send(directory, "post", "Groups", {
        "schemas": [GROUP], "displayName": "ai-builders", "externalId": "00g-builders",
        "members": [{"value": str(alice.pk), "display": "alice"}, {"value": str(bob.pk)}],
    })
    assert response.status_code == 201 and response["Content-Type"] == SCIM
    group = DirectoryGroup.objects.get()
    assert body["id"] == str(group.scim_id) and uuid.UUID(body["id"])
    assert response["Location"] == f"http://testserver/scim/v2/Groups/{group.scim_id}" == body["meta"]["location"]
    assert body["displayName"] == "ai-builders" and body["externalId"] == "00g-builders" and body["meta"]["resourceType"] == "Group"
    assert body["members"] == [
        {"value": str(alice.pk), "$ref": f"http://testserver/scim/v2/Users/{alice.pk}", "type": "User", "display": "alice"},
        {"value": str(bob.pk), "$ref": f"http://testserver/scim/v2/Users/{bob.pk}", "type": "User", "display": "bob"},
    ]
    assert actions_since(first) == ["group.directory_created"]
    event = AuditEvent.objects.get(action="group.directory_created")
    assert event.actor_id == sam.pk and event.reason == "directory sync (token 'okta')" and event.object_repr == "ai-builders"
    assert event.after == {"display_name": "ai-builders", "external_id": "00g-builders", "members": ["alice", "bob"]}
    assert send(directory, "get", f"Groups/{group.scim_id}")[1] == body


def test_it_finds_groups_by_the_filters_okta_and_entra_id_send(directory, alice, bob, charlie):
    builders = push(directory, "ai-builders", alice, bob, external_id="00g-1")
    secops = push(directory, "SecOps", bob)
    empty = push(directory, "all-staff")

    def names(query):
        response, found = send(directory, "get", f"Groups?{query}")
        assert response.status_code == 200, found
        return [group["displayName"] for group in found.get("Resources", [])]

    assert names('filter=displayName eq "secops"') == ["SecOps"]  # displayName compares without case
    assert names('filter=externalId eq "00g-1"') == ["ai-builders"]
    assert names(f'filter=id eq "{empty["id"]}"') == ["all-staff"]
    assert names('filter=id eq "not-a-uuid"') == []
    assert names(f'filter=members[value eq "{bob.pk}"]') == ["ai-builders", "SecOps"]
    assert names(f'filter=members.value eq "{alice.pk}"') == ["ai-builders"]
    assert names(f'filter=id eq "{secops["id"]}" and members eq "{alice.pk}"') == []  # Entra ID's membership check
    assert names(f'filter=members.value eq "{alice.pk}" and members.value eq "{bob.pk}"') == ["ai-builders"]
    assert names(f'filter=not (members[value eq "{alice.pk}"])') == ["SecOps", "all-staff"]
    assert names(f'filter=members[value eq "{charlie.pk}" or value eq "{alice.pk}"]') == ["ai-builders"]
    assert names("filter=members pr") == ["ai-builders", "SecOps"]
    assert names(f'filter=members eq "{"9" * 30}"') == []  # no person has that id
    assert names('filter=displayName sw "a" or displayName co "OPS"') == ["ai-builders", "SecOps", "all-staff"]
    assert names(f'filter=meta.lastModified gt "{secops["meta"]["lastModified"]}"') == ["all-staff"]

    response, page = send(directory, "get", "Groups?startIndex=2&count=1&excludedAttributes=members")
    assert page["totalResults"] == 3 and page["startIndex"] == 2 and page["itemsPerPage"] == 1
    assert page["Resources"] == [{"schemas": [GROUP], "id": secops["id"], "displayName": "SecOps", "meta": secops["meta"]}]
    _, one = send(directory, "get", f"Groups/{builders['id']}?excludedAttributes=members")
    assert "members" not in one and one["displayName"] == "ai-builders"
    assert "members" in send(directory, "get", f"Groups/{builders['id']}")[1]


@pytest.mark.parametrize("query, words", [
    ('filter=displayName eq', "invalid"),
    ('filter=description eq "x"', "description"),
    ('filter=members[display eq "alice"]', "'display' is not supported"),
    ('filter=members.value gt "1"', "eq or ne"),
    ('filter=id sw "a"', "eq or ne"),
])
def test_a_filter_it_cannot_answer_is_a_400(directory, query, words):
    response, body = send(directory, "get", f"Groups?{query}")
    assert response.status_code == 400 and body["scimType"] == "invalidFilter" and words in body["detail"]


def test_okta_adds_and_removes_members_and_renames_the_group(directory, sam, alice, bob):
    group = push(directory, "ai-builders", alice)
    first = last_event_id()
    response, body = patch(directory, group["id"], {"op": "add", "path": "members", "value": [{"value": str(bob.pk), "display": "bob"}]})
    assert response.status_code == 204 and body is None
    assert member_ids(directory, group["id"]) == {str(alice.pk), str(bob.pk)}
    patch(directory, group["id"], {"op": "remove", "path": f'members[value eq "{alice.pk}"]'})
    assert member_ids(directory, group["id"]) == {str(bob.pk)}
    patch(directory, group["id"], {"op": "replace", "value": {"id": group["id"], "displayName": "agent-builders"}})
    assert DirectoryGroup.objects.get().display_name == "agent-builders"
    assert actions_since(first) == ["group.directory_updated"] * 3
    added, removed, renamed = AuditEvent.objects.filter(id__gt=first).order_by("id")
    assert added.after == {"members_added": ["bob"]} and removed.after == {"members_removed": ["alice"]}
    assert (renamed.before, renamed.after) == ({"display_name": "ai-builders"}, {"display_name": "agent-builders"})
    assert renamed.actor_id == sam.pk and renamed.reason == "directory sync (token 'okta')"
    # Adding someone already in, or removing someone not in, changes nothing and records nothing.
    patch(directory, group["id"], {"op": "add", "path": "members", "value": [{"value": str(bob.pk)}]})
    patch(directory, group["id"], {"op": "remove", "path": f'members[value eq "{alice.pk}"]'})
    assert actions_since(first) == ["group.directory_updated"] * 3 and member_ids(directory, group["id"]) == {str(bob.pk)}


def test_entra_id_patches_with_capitalised_ops_and_removes_members_by_value(directory, alice, bob, charlie):
    group = push(directory, "nhi-reviewers", alice)
    response, _ = patch(directory, group["id"], {"op": "Add", "path": "members", "value": [{"value": str(bob.pk)}, {"value": str(charlie.pk)}]})
    assert response.status_code == 204 and member_ids(directory, group["id"]) == {str(alice.pk), str(bob.pk), str(charlie.pk)}
    # Entra ID's removal: the value names the members to remove, not the whole list.
    response, _ = patch(directory, group["id"], {"op": "Remove", "path": "members", "value": [{"value": str(alice.pk)}, {"value": str(bob.pk)}]})
    assert response.status_code == 204 and member_ids(directory, group["id"]) == {str(charlie.pk)}
    patch(directory, group["id"], {"op": "Replace", "path": "displayName", "value": "nhi-approvers"}, {"op": "Replace", "path": "externalId", "value": "b7c2"})
    _, body = send(directory, "get", 'Groups?filter=displayName eq "nhi-approvers"&excludedAttributes=members')
    assert body["totalResults"] == 1 and body["Resources"][0]["externalId"] == "b7c2" and "members" not in body["Resources"][0]


def test_put_replaces_the_name_and_the_whole_membership(directory, alice, bob, charlie):
    group = push(directory, "ai-builders", alice, bob)
    response, body = send(directory, "put", f"Groups/{group['id']}", {
        "schemas": [GROUP], "displayName": "Builders", "members": [{"value": str(charlie.pk)}, {"value": str(bob.pk)}],
    })
    assert response.status_code == 200 and body["displayName"] == "Builders" and "externalId" not in body
    assert [m["display"] for m in body["members"]] == ["bob", "charlie"]
    event = AuditEvent.objects.filter(action="group.directory_updated").get()
    assert event.after == {"display_name": "Builders", "members_added": ["charlie"], "members_removed": ["alice"]}


def test_a_taken_display_name_is_a_conflict_and_writes_nothing(directory, alice):
    push(directory, "secops", alice)
    other = push(directory, "grc")
    first = last_event_id()
    response, body = send(directory, "post", "Groups", {"schemas": [GROUP], "displayName": "SECOPS"})
    assert response.status_code == 409 and body["scimType"] == "uniqueness" and body["status"] == "409"
    response, body = patch(directory, other["id"], {"op": "replace", "path": "displayName", "value": "SecOps"})
    assert response.status_code == 409 and body["scimType"] == "uniqueness"
    assert DirectoryGroup.objects.count() == 2 and actions_since(first) == []
    # A deleted group's name is free for a new one.
    secops = DirectoryGroup.objects.get(display_name="secops")
    assert send(directory, "delete", f"Groups/{secops.scim_id}")[0].status_code == 204
    assert send(directory, "post", "Groups", {"schemas": [GROUP], "displayName": "SecOps"})[0].status_code == 201


def test_a_bad_member_fails_the_whole_change(directory, alice, bob):
    group = push(directory, "ai-builders", alice)
    first = last_event_id()
    for members, words in [
        ([{"value": str(bob.pk)}, {"value": "999999"}], "No User 999999"),
        ([{"value": "00u-not-an-id"}], "No User 00u-not-an-id"),
        ([{"value": "9" * 30}], "No User 999"),
        ([{"value": group["id"], "type": "Group"}], "groups in groups are not supported"),
        ([{"display": "bob"}], "given by its id"),
    ]:
        response, body = patch(directory, group["id"], {"op": "add", "path": "members", "value": members})
        assert response.status_code == 400 and body["scimType"] == "invalidValue" and words in body["detail"], body
    response, body = send(directory, "post", "Groups", {"schemas": [GROUP], "displayName": "new", "members": [{"value": "999999"}]})
    assert response.status_code == 400 and body["scimType"] == "invalidValue"
    assert member_ids(directory, group["id"]) == {str(alice.pk)} and DirectoryGroup.objects.count() == 1
    assert actions_since(first) == []


def test_a_deactivated_person_can_be_a_member_but_a_person_the_directory_deleted_cannot(directory, alice, bob):
    group = push(directory, "ai-builders")
    send(directory, "patch", f"Users/{alice.pk}", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]})
    # The directory keeps a suspended person in their groups; it is no error.
    response, _ = patch(directory, group["id"], {"op": "add", "path": "members", "value": [{"value": str(alice.pk)}]})
    assert response.status_code == 204 and member_ids(directory, group["id"]) == {str(alice.pk)}
    # A person the directory deleted is no User to SCIM (404), so not a member either.
    send(directory, "delete", f"Users/{bob.pk}")
    response, body = patch(directory, group["id"], {"op": "add", "path": "members", "value": [{"value": str(bob.pk)}]})
    assert response.status_code == 400 and body["scimType"] == "invalidValue" and f"No User {bob.pk}" in body["detail"]


def test_deleting_a_person_takes_them_out_of_their_groups(directory, alice, bob):
    group = push(directory, "ai-builders", alice, bob)
    assert send(directory, "delete", f"Users/{alice.pk}")[0].status_code == 204
    assert member_ids(directory, group["id"]) == {str(bob.pk)}
    event = AuditEvent.objects.get(action="person.directory_deleted")
    assert event.after["directory_groups_left"] == ["ai-builders"]


def test_delete_removes_the_group_for_scim_and_keeps_its_history(directory, sam, alice):
    group = push(directory, "ai-builders", alice)
    first = last_event_id()
    response, body = send(directory, "delete", f"Groups/{group['id']}")
    assert response.status_code == 204 and body is None
    assert send(directory, "get", f"Groups/{group['id']}")[0].status_code == 404
    assert send(directory, "delete", f"Groups/{group['id']}")[0].status_code == 404
    assert send(directory, "get", "Groups")[1]["totalResults"] == 0
    assert actions_since(first) == ["group.directory_deleted"]
    event = AuditEvent.objects.get(action="group.directory_deleted")
    assert event.actor_id == sam.pk and event.before == {"members": ["alice"]} and event.object_repr == "ai-builders"
    assert not DirectoryGroup.objects.get().members.exists()


def test_people_get_exactly_the_roles_their_directory_groups_map_to(roles_follow_groups, directory, sam, alice, bob, charlie):
    first = last_event_id()
    secops = push(directory, "secops", charlie)
    assert roles_of(User.objects.get(pk=charlie.pk)) == {"security_admin"}
    assert actions_since(first) == ["group.directory_created", "person.directory_updated"]
    event = AuditEvent.objects.get(action="person.directory_updated", object_repr="charlie")
    assert (event.before, event.after) == ({"roles": []}, {"roles": ["security_admin"]})
    assert event.actor_id == sam.pk and event.reason == "directory sync (token 'okta')"

    # A group the mapping does not name gives nothing: alice's owner role came from no group.
    push(directory, "all-staff", alice, bob)
    assert roles_of(User.objects.get(pk=alice.pk)) == set() == roles_of(User.objects.get(pk=bob.pk))
    builders = push(directory, "ai-builders", alice)
    patch(directory, builders["id"], {"op": "add", "path": "members", "value": [{"value": str(charlie.pk)}]})
    assert roles_of(User.objects.get(pk=alice.pk)) == {"owner"}
    assert roles_of(User.objects.get(pk=charlie.pk)) == {"owner", "security_admin"}

    # One PATCH, one group event, one event for each person whose roles change.
    first = last_event_id()
    patch(directory, secops["id"], {"op": "add", "path": "members", "value": [{"value": str(alice.pk)}, {"value": str(bob.pk)}]},
          {"op": "remove", "path": f'members[value eq "{charlie.pk}"]'})
    assert actions_since(first) == ["group.directory_updated"] + ["person.directory_updated"] * 3
    assert roles_of(User.objects.get(pk=bob.pk)) == {"security_admin"}
    assert roles_of(User.objects.get(pk=charlie.pk)) == {"owner"}

    # A new name the mapping does not know takes the role from everyone in the group.
    patch(directory, secops["id"], {"op": "replace", "path": "displayName", "value": "secops-old"})
    assert roles_of(User.objects.get(pk=bob.pk)) == set() and roles_of(User.objects.get(pk=alice.pk)) == {"owner"}
    # Deleting a group takes its role from its members.
    send(directory, "delete", f"Groups/{builders['id']}")
    assert roles_of(User.objects.get(pk=alice.pk)) == set() and roles_of(User.objects.get(pk=charlie.pk)) == set()


def test_without_a_mapping_groups_are_kept_but_change_no_roles(directory, alice, charlie):
    first = last_event_id()
    push(directory, "secops", alice, charlie)
    assert roles_of(User.objects.get(pk=alice.pk)) == {"owner"} and roles_of(User.objects.get(pk=charlie.pk)) == set()
    assert actions_since(first) == ["group.directory_created"]


def test_a_superuser_stays_a_security_admin_whatever_the_groups_say(roles_follow_groups, directory):
    root = User.objects.create_superuser("root-admin", "root@example.com", "correct-horse-battery-staple")
    group = push(directory, "secops", root)
    patch(directory, group["id"], {"op": "remove", "path": f'members[value eq "{root.pk}"]'})
    assert "security_admin" in roles_of(User.objects.get(pk=root.pk))


def test_deleting_a_person_takes_the_roles_their_groups_gave(roles_follow_groups, directory, alice):
    push(directory, "nhi-reviewers", alice)
    assert roles_of(User.objects.get(pk=alice.pk)) == {"reviewer"}
    send(directory, "delete", f"Users/{alice.pk}")
    alice.refresh_from_db()
    assert not alice.groups.exists()
    assert list(AuditEvent.objects.filter(object_repr="alice").order_by("id").values_list("action", flat=True))[-3:] == [
        "person.deactivate", "person.directory_deleted", "person.directory_updated",
    ]


def test_bad_requests_are_scim_errors(directory, alice):
    group = push(directory, "ai-builders", alice)
    response = directory.post("/scim/v2/Groups", data="{not json", content_type=SCIM)
    assert response.status_code == 400 and json.loads(response.content)["scimType"] == "invalidSyntax"
    response, body = send(directory, "post", "Groups", {"schemas": [GROUP], "members": []})
    assert response.status_code == 400 and body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    response, body = send(directory, "post", "Groups", {"schemas": [GROUP], "displayName": "x" * 300})
    assert response.status_code == 400 and body["scimType"] == "invalidValue" and "displayName" in body["detail"]
    response, body = patch(directory, group["id"], {"op": "explode", "path": "displayName"})
    assert response.status_code == 400 and body["scimType"] == "invalidValue"
    response, body = patch(directory, group["id"], {"op": "remove", "path": "displayName"})
    assert response.status_code == 400 and body["scimType"] == "mutability"
    response, body = patch(directory, group["id"], {"op": "replace", "path": "id", "value": str(uuid.uuid4())})
    assert response.status_code == 400 and body["scimType"] == "mutability"
    assert send(directory, "get", f"Groups/{uuid.uuid4()}")[0].status_code == 404
    assert patch(directory, "not-a-uuid", {"op": "add", "path": "members", "value": [{"value": str(alice.pk)}]})[0].status_code == 404
    assert send(directory, "post", f"Groups/{group['id']}", {})[0].status_code == 405
    assert DirectoryGroup.objects.get().display_name == "ai-builders"


def test_only_a_security_admins_directory_sync_token_gets_in(directory, sam, rita, alice):
    group = push(directory, "secops", alice)
    calls = [
        ("get", "Groups", None),
        ("get", f"Groups/{group['id']}", None),
        ("post", "Groups", {"schemas": [GROUP], "displayName": "intruders", "members": [{"value": str(rita.pk)}]}),
        ("patch", f"Groups/{group['id']}", {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": str(rita.pk)}]}]}),
        ("delete", f"Groups/{group['id']}", None),
    ]
    _, api_token = api_token_create(user=sam, name="script", days=30)
    revoked, revoked_raw = api_token_create(user=sam, name="old-okta", days=30, purpose=TokenPurpose.DIRECTORY_SYNC)
    api_token_revoke(token=revoked, actor=sam)
    outsiders = [
        (Client(), 401), (Client(HTTP_AUTHORIZATION="Bearer nhip_forged"), 401),
        (Client(HTTP_AUTHORIZATION=f"Bearer {api_token}"), 403), (Client(HTTP_AUTHORIZATION=f"Bearer {revoked_raw}"), 401),
    ]
    first = last_event_id()
    for client, status in outsiders:
        for method, path, body in calls:
            response, payload = send(client, method, path, body)
            assert response.status_code == status and "secops" not in response.content.decode(), (method, path)
    # The token stops working when its person stops being a security admin.
    person_roles_set(person=sam, roles=[], actor=rita)
    sam.is_superuser = False
    sam.save()
    for method, path, body in calls:
        assert send(directory, method, path, body)[0].status_code == 403
    assert actions_since(first) == ["person.roles_set"]
    assert list(DirectoryGroup.objects.values_list("display_name", flat=True)) == ["secops"]
    assert list(DirectoryGroup.objects.get().members.all()) == [alice]
    assert PersonalAPIToken.objects.filter(pk=revoked.pk, last_used_at__isnull=True).exists()


def test_discovery_documents_list_groups(directory):
    _, types = send(directory, "get", "ResourceTypes")
    assert {t["id"]: t["endpoint"] for t in types["Resources"]} == {"User": "/Users", "Group": "/Groups"}
    assert send(directory, "get", "ResourceTypes/Group")[1]["schema"] == GROUP
    _, schemas = send(directory, "get", "Schemas")
    assert GROUP in [s["id"] for s in schemas["Resources"]]
    assert send(directory, "get", f"Schemas/{GROUP}")[1]["name"] == "Group"


def test_the_person_page_shows_their_directory_groups(directory, client_for, sam, carol, alice, settings):
    push(directory, "ai-builders", alice)
    push(directory, "all-staff", alice)
    page = client_for(carol).get(f"/users/{alice.pk}/").content.decode()
    assert "Directory groups" in page and "ai-builders, all-staff" in page and "their roles follow these" not in page
    settings.SSO = {**settings.SSO, "ROLE_GROUPS": MAPPING}
    assert "their roles follow these" in client_for(sam).get(f"/users/{alice.pk}/").content.decode()
    assert "Directory groups" not in client_for(sam).get(f"/users/{sam.pk}/").content.decode()


def _at_once(directory, calls) -> list[int]:
    """Send each (method, path, body) from its own thread, all released together; the statuses."""
    start, statuses = threading.Barrier(len(calls)), []

    def call(method, path, body):
        try:
            start.wait()
            statuses.append(send(Client(HTTP_AUTHORIZATION=directory.defaults["HTTP_AUTHORIZATION"]), method, path, body)[0].status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=c) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_patches_at_once_lose_no_member_and_no_role(roles_follow_groups, directory):
    people = [User.objects.create_user(f"p{n}") for n in range(8)]
    secops, builders = push(directory, "secops"), push(directory, "ai-builders")
    # Okta sends a PATCH for each membership, several at once: the same group, the same person.
    adds = [("patch", f"Groups/{group['id']}", {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": str(person.pk)}]}]})
            for person in people for group in (secops, builders)]
    assert _at_once(directory, adds) == [204] * len(adds)
    assert member_ids(directory, secops["id"]) == member_ids(directory, builders["id"]) == {str(p.pk) for p in people}
    assert all(roles_of(User.objects.get(pk=p.pk)) == {"security_admin", "owner"} for p in people)
    assert AuditEvent.objects.filter(action="group.directory_updated").count() == len(adds)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_deleting_people_while_removing_them_from_a_group_fails_neither(roles_follow_groups, directory):
    people = [User.objects.create_user(f"p{n}") for n in range(6)]
    group = push(directory, "secops", *people)
    calls = [call for person in people for call in (
        ("patch", f"Groups/{group['id']}", {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{person.pk}"]'}]}),
        ("delete", f"Users/{person.pk}", None),
    )]
    assert sorted(_at_once(directory, calls)) == [204] * len(calls)
    assert member_ids(directory, group["id"]) == set()
    assert not any(roles_of(User.objects.get(pk=p.pk)) for p in people)


def test_a_security_admin_the_directorys_group_made_is_the_directorys_to_delete(roles_follow_groups, directory, sam):
    """The portal-made security admin is refused (tests/people/test_scim.py); one whose role
    comes from the directory's mapped group is the directory's, as the role itself is."""
    person = User.objects.create_user("dana")
    push(directory, "secops", person)
    assert roles_of(User.objects.get(pk=person.pk)) == {"security_admin"}
    assert send(directory, "delete", f"Users/{person.pk}")[0].status_code == 204
    assert not User.objects.get(pk=person.pk).is_active
    assert send(directory, "delete", f"Users/{sam.pk}")[0].status_code == 400


def test_a_group_cannot_make_an_administrator_the_portal_made_the_directorys(roles_follow_groups, directory, sam, alice):
    """Were sam in the directory's security admin group, his role would read as the directory's,
    and the directory could then set his externalId or email: single sign-on would link whoever
    holds that account at the provider to sam (tests/people/test_scim.py). So no group takes a
    security admin the portal made, whether it is created with him or he is added later; nor can
    a group strip his role."""
    group = push(directory, "ai-builders", alice)
    first = last_event_id()
    response, body = send(directory, "post", "Groups", {"schemas": [GROUP], "displayName": "secops", "members": [{"value": str(sam.pk)}]})
    assert response.status_code == 400 and body["scimType"] == "invalidValue" and "the portal made" in body["detail"], body
    for name in ("secops", "ai-builders"):
        response, body = patch(directory, group["id"], {"op": "replace", "path": "displayName", "value": name},
                               {"op": "add", "path": "members", "value": [{"value": str(sam.pk)}]})
        assert response.status_code == 400 and "the portal made" in body["detail"], body
    response, body = send(directory, "put", f"Groups/{group['id']}", {"schemas": [GROUP], "displayName": "secops", "members": [{"value": str(sam.pk)}]})
    assert response.status_code == 400 and "the portal made" in body["detail"], body
    assert actions_since(first) == [] and DirectoryGroup.objects.count() == 1
    assert member_ids(directory, group["id"]) == {str(alice.pk)} and roles_of(User.objects.get(pk=sam.pk)) == {"security_admin"}
    # So his sign-in names stay the portal's.
    response, body = send(directory, "patch", f"Users/{sam.pk}", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "externalId", "value": "attacker-sub"}]})
    assert response.status_code == 400 and not hasattr(User.objects.get(pk=sam.pk), "directory_entry")


def test_renaming_a_group_cannot_make_a_member_the_portal_since_made_security_admin_the_directorys(roles_follow_groups, directory, sam):
    """vera was in the directory's all-staff group before the portal made her a security admin:
    renamed to the security admin group, it would make her role read as the directory's."""
    vera = User.objects.create_user("vera")
    group = push(directory, "all-staff", vera)
    person_roles_set(person=vera, roles=["security_admin"], actor=sam)
    first = last_event_id()
    response, body = patch(directory, group["id"], {"op": "replace", "path": "displayName", "value": "secops"})
    assert response.status_code == 400 and "vera" in body["detail"] and "the portal made" in body["detail"], body
    assert actions_since(first) == [] and DirectoryGroup.objects.get().display_name == "all-staff"
    response, _ = send(directory, "patch", f"Users/{vera.pk}", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "externalId", "value": "attacker-sub"}]})
    assert response.status_code == 400 and roles_of(User.objects.get(pk=vera.pk)) == {"security_admin"}
