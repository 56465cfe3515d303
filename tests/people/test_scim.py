"""The organisation's directory provisions people over SCIM 2.0 (/scim/v2/): the payloads are
those Okta and Entra ID send, over real URLs with a real directory sync token."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from inventory.models import AIIdentity
from inventory.selectors import orphaned_q
from inventory.services import identity_activate
from nhiportal.audit.models import AuditEvent
from nhiportal.people.models import PersonalAPIToken, TokenPurpose
from nhiportal.people.roles import roles_of
from nhiportal.people.services import api_token_create, person_roles_set

pytestmark = pytest.mark.django_db
User = get_user_model()
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM = "application/scim+json"


@pytest.fixture
def directory(sam):
    """The identity provider's HTTP client, holding sam's directory sync token."""
    _, raw = api_token_create(user=sam, name="okta", days=30, purpose=TokenPurpose.DIRECTORY_SYNC)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def send(client, method, path, body=None):
    data = json.dumps(body) if body is not None else ""
    response = getattr(client, method)(f"/scim/v2/{path}", data=data, content_type=SCIM)
    payload = json.loads(response.content) if response.content else None
    return response, payload


def okta_user(username="grace", **overrides):
    return {
        "schemas": [CORE], "userName": username, "externalId": f"00u-{username}",
        "name": {"givenName": "Grace", "familyName": "Hopper"},
        "emails": [{"primary": True, "value": f"{username}@example.com", "type": "work"}],
        "active": True, **overrides,
    }


def test_the_directory_creates_a_person_who_signs_in_through_single_sign_on(directory, sam):
    response, body = send(directory, "post", "Users", okta_user())
    assert response.status_code == 201 and response["Content-Type"] == SCIM
    grace = User.objects.get(username="grace")
    assert response["Location"] == f"http://testserver/scim/v2/Users/{grace.pk}"
    assert body["id"] == str(grace.pk) and body["userName"] == "grace" and body["externalId"] == "00u-grace"
    assert body["emails"] == [{"value": "grace@example.com", "type": "work", "primary": True}] and body["active"] is True
    assert body["meta"]["resourceType"] == "User"
    assert (grace.first_name, grace.last_name, grace.email) == ("Grace", "Hopper", "grace@example.com")
    assert not grace.has_usable_password() and roles_of(grace) == {"owner"}
    event = AuditEvent.objects.get(action="person.directory_created")
    assert event.actor_id == sam.pk and event.reason == "directory sync (token 'okta')" and event.after["roles"] == ["owner"]


def test_a_taken_username_is_a_conflict_and_writes_nothing(directory, alice):
    events = AuditEvent.objects.count()
    response, body = send(directory, "post", "Users", okta_user("ALICE"))
    assert response.status_code == 409 and body["scimType"] == "uniqueness" and body["status"] == "409"
    assert User.objects.filter(username__iexact="alice").count() == 1 and AuditEvent.objects.count() == events


@pytest.mark.parametrize("username", ["\uff21\uff2c\uff29\uff23\uff25", "\uff41\uff4c\uff49\uff43\uff45"], ids=["full-width upper", "full-width lower"])
def test_a_full_width_spelling_of_a_taken_username_is_a_conflict_too(directory, alice, bob, username):
    # Django keeps usernames in NFKC: "ＡＬＩＣＥ" would be stored as a second "ALICE".
    events = AuditEvent.objects.count()
    response, body = send(directory, "post", "Users", okta_user(username))
    assert response.status_code == 409 and body["scimType"] == "uniqueness"
    response, body = send(directory, "put", f"Users/{bob.pk}", okta_user(username))
    assert response.status_code == 409 and body["scimType"] == "uniqueness"
    assert User.objects.filter(username__iexact="alice").count() == 1 and AuditEvent.objects.count() == events


def test_it_finds_people_by_filter_and_pages_through_them(directory, alice, bob, charlie):
    send(directory, "post", "Users", okta_user())
    _, found = send(directory, "get", 'Users?filter=userName eq "ALICE"')
    assert found["totalResults"] == 1 and found["Resources"][0]["userName"] == "alice"
    _, found = send(directory, "get", 'Users?filter=externalId eq "00u-grace"')
    assert [r["userName"] for r in found["Resources"]] == ["grace"]
    _, found = send(directory, "get", "Users?filter=" + 'emails.value ew "@example.com" and not (userName sw "g")')
    assert {r["userName"] for r in found["Resources"]} == {"alice", "bob", "charlie", "sam"}
    _, nobody = send(directory, "get", 'Users?filter=userName eq "nobody"')
    assert nobody["totalResults"] == 0 and "Resources" not in nobody
    _, page = send(directory, "get", "Users?startIndex=2&count=2")
    assert page["startIndex"] == 2 and page["itemsPerPage"] == 2 and page["totalResults"] == 5
    assert [r["userName"] for r in page["Resources"]] == [u.username for u in User.objects.order_by("pk")[1:3]]


@pytest.mark.parametrize("query, words", [
    ('filter=userName eq', "invalid syntax"),
    ('filter=title eq "CTO"', "'title' is not supported"),
    ('filter=emails[type eq "work"]', "valuePath"),
    ("filter=meta.created gt 5", "quoted string"),
    ('filter=meta.created gt "yesterday"', "ISO 8601"),
    ('filter=meta.created gt "9999-12-31T23:59:59-05:00"', "outside the calendar"),
    ("filter=userName eq true", "quoted string"),
    ('filter=active eq "yes"', "true or false"),
])
def test_a_filter_it_cannot_answer_is_a_400(directory, query, words):
    response, body = send(directory, "get", f"Users?{query}")
    assert response.status_code == 400 and body["scimType"] == "invalidFilter" and words in body["detail"]


def test_deactivating_an_owner_orphans_their_identities_and_revokes_their_api_tokens(directory, alice, sam, make_identity):
    identity = make_identity(alice)
    identity_activate(actor=alice, identity=identity)
    api_token_create(user=alice, name="script", days=30)
    # Entra ID's way: a capitalised op and a string for the boolean.
    response, body = send(directory, "patch", f"Users/{alice.pk}", {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
    assert response.status_code == 200 and body["active"] is False
    alice.refresh_from_db()
    assert not alice.is_active and not PersonalAPIToken.objects.filter(user=alice, revoked_at__isnull=True).exists()
    assert AIIdentity.objects.filter(orphaned_q(), pk=identity.pk).exists()
    event = AuditEvent.objects.get(action="person.deactivate")
    assert event.actor_id == sam.pk and "directory sync (token 'okta')" in event.reason
    # Okta's way back: a value object without a path.
    response, body = send(directory, "patch", f"Users/{alice.pk}", {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": True}}]})
    assert body["active"] is True and User.objects.get(pk=alice.pk).is_active
    assert AuditEvent.objects.filter(action="person.reactivate").count() == 1


def test_the_directory_cannot_undo_a_deactivation_a_security_admin_made_in_the_portal(directory, alice, sam, client_for):
    response = client_for(sam).post(reverse("inventory:person-deactivate", args=[alice.pk]), {"deactivate-reason": "Laptop stolen."})
    assert response.status_code == 302 and not User.objects.get(pk=alice.pk).is_active
    events = AuditEvent.objects.count()
    # Okta's next sync still lists her active, with a new surname: all of it is refused.
    response, body = send(directory, "put", f"Users/{alice.pk}", okta_user("alice", name={"givenName": "Alice", "familyName": "Liddell"}))
    assert response.status_code == 400 and "reactivated there, not by the directory" in body["detail"]
    response, body = send(directory, "patch", f"Users/{alice.pk}", {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": True}}]})
    assert response.status_code == 400 and "security admin deactivated" in body["detail"]
    alice.refresh_from_db()
    assert not alice.is_active and alice.last_name == "" and AuditEvent.objects.count() == events
    # Once a security admin lets her back in, the directory's own deactivation is the directory's to undo.
    assert client_for(sam).post(reverse("inventory:person-reactivate", args=[alice.pk]), {"reactivate-reason": "Laptop found."}).status_code == 302
    send(directory, "patch", f"Users/{alice.pk}", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]})
    response, body = send(directory, "patch", f"Users/{alice.pk}", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": True}]})
    assert response.status_code == 200 and body["active"] is True and User.objects.get(pk=alice.pk).is_active


def test_a_patch_changes_email_and_name_in_one_event(directory, alice):
    ops = [
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "alice.liddell@example.com"},
        {"op": "replace", "path": "name.familyName", "value": "Liddell"},
        # Attributes the portal does not keep are accepted and left alone.
        {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R&D"},
    ]
    send(directory, "put", f"Users/{alice.pk}", okta_user("alice", name={"givenName": "Alice"}, emails=[{"value": "alice@example.com", "type": "work", "primary": True}]))
    response, body = send(directory, "patch", f"Users/{alice.pk}", {"schemas": [PATCH], "Operations": ops})
    assert response.status_code == 200 and body["emails"][0]["value"] == "alice.liddell@example.com"
    alice.refresh_from_db()
    assert (alice.email, alice.last_name) == ("alice.liddell@example.com", "Liddell")
    event = AuditEvent.objects.filter(action="person.directory_updated").latest("id")
    assert event.before == {"email": "alice@example.com", "last_name": ""}
    assert event.after == {"email": "alice.liddell@example.com", "last_name": "Liddell"}


def test_put_refuses_a_taken_or_malformed_username(directory, alice, bob):
    response, body = send(directory, "put", f"Users/{alice.pk}", okta_user("bob"))
    assert response.status_code == 409 and body["scimType"] == "uniqueness"
    response, body = send(directory, "put", f"Users/{alice.pk}", okta_user("alice smith!", emails=[{"value": "alice@example.com", "primary": True}]))
    assert response.status_code == 400 and body["scimType"] == "invalidValue" and "userName" in body["detail"]
    assert User.objects.get(pk=alice.pk).username == "alice"


def test_delete_deactivates_and_then_the_person_is_gone_for_scim(directory, alice):
    response, _ = send(directory, "delete", f"Users/{alice.pk}")
    assert response.status_code == 204
    alice.refresh_from_db()
    assert not alice.is_active  # kept, with their history, for the portal
    assert send(directory, "get", f"Users/{alice.pk}")[0].status_code == 404
    _, found = send(directory, "get", 'Users?filter=userName eq "alice"')
    assert found["totalResults"] == 0
    actions = list(AuditEvent.objects.filter(object_repr="alice").order_by("id").values_list("action", flat=True))
    assert actions[-2:] == ["person.deactivate", "person.directory_deleted"]


def test_the_directory_cannot_deactivate_a_superuser(directory):
    root = User.objects.create_superuser("root-admin", "root@example.com", "correct-horse-battery-staple")
    response, body = send(directory, "patch", f"Users/{root.pk}", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]})
    assert response.status_code == 400 and "superuser" in body["detail"]
    assert User.objects.get(pk=root.pk).is_active


@pytest.mark.parametrize("op", [
    {"op": "replace", "path": "externalId", "value": "attacker-sub"},
    {"op": "replace", "path": "userName", "value": "sam2"},
    {"op": "replace", "path": 'emails[type eq "work"].value', "value": "mallory@evil.example"},
    {"op": "replace", "path": "active", "value": False},
])
def test_the_directory_cannot_take_over_or_lock_out_an_administrator_the_portal_made(directory, sam, op):
    """Single sign-on links a first sign-in by the external id, userName or email the directory
    set: a stolen sync token that could set those on sam could hand sam's account to anyone."""
    response, body = send(directory, "patch", f"Users/{sam.pk}", {"schemas": [PATCH], "Operations": [op]})
    assert response.status_code == 400 and "the portal made" in body["detail"]
    assert send(directory, "delete", f"Users/{sam.pk}")[0].status_code == 400
    sam.refresh_from_db()
    assert sam.is_active and sam.username == "sam" and not hasattr(sam, "directory_entry")
    assert not AuditEvent.objects.filter(action__startswith="person.directory").exists()


def test_a_superusers_sign_in_names_stay_the_portals_even_when_the_directory_made_them(directory):
    send(directory, "post", "Users", okta_user())
    grace = User.objects.get(username="grace")
    grace.is_superuser = True
    grace.save()
    for op in (
        {"op": "replace", "path": "externalId", "value": "attacker-sub"},
        {"op": "replace", "path": "userName", "value": "grace2"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "mallory@evil.example"},
    ):
        response, body = send(directory, "patch", f"Users/{grace.pk}", {"schemas": [PATCH], "Operations": [op]})
        assert response.status_code == 400 and "superuser" in body["detail"], op
    grace.refresh_from_db()
    assert (grace.username, grace.email, grace.directory_entry.external_id) == ("grace", "grace@example.com", "00u-grace")
    # What is not a sign-in name is still the directory's.
    response, _ = send(directory, "patch", f"Users/{grace.pk}", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "name.familyName", "value": "Murray"}]})
    assert response.status_code == 200 and User.objects.get(pk=grace.pk).last_name == "Murray"


def test_bad_bodies_are_scim_errors(directory, alice):
    response = directory.post("/scim/v2/Users", data="{not json", content_type=SCIM)
    assert response.status_code == 400 and json.loads(response.content)["scimType"] == "invalidSyntax"
    response, body = send(directory, "post", "Users", {"schemas": [CORE], "name": {"givenName": "No"}})
    assert response.status_code == 400 and body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    response, body = send(directory, "patch", f"Users/{alice.pk}", {"schemas": [PATCH], "Operations": [{"op": "explode", "path": "active"}]})
    assert response.status_code == 400
    assert send(directory, "get", "Users/999999")[0].status_code == 404
    assert send(directory, "get", "Users/not-a-number")[0].status_code == 404


def test_only_a_security_admins_directory_sync_token_gets_in(directory, sam, rita, alice):
    response = Client().get("/scim/v2/Users")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer") and b"alice" not in response.content
    _, api_token = api_token_create(user=sam, name="script", days=30)
    assert Client(HTTP_AUTHORIZATION=f"Bearer {api_token}").get("/scim/v2/Users").status_code == 403
    assert Client(HTTP_AUTHORIZATION="Bearer nhip_forged").get("/scim/v2/Users").status_code == 401
    # The sync token opens nothing of the REST API.
    sync = directory.defaults["HTTP_AUTHORIZATION"]
    assert Client(HTTP_AUTHORIZATION=sync).get("/api/v1/identities/").status_code == 401
    # Nobody but a security admin holds one, and it stops when its person stops being one.
    with pytest.raises(Exception, match="Only a security admin"):
        api_token_create(user=rita, name="sneaky", days=30, purpose=TokenPurpose.DIRECTORY_SYNC)
    person_roles_set(person=sam, roles=[], actor=rita)
    sam.is_superuser = False
    sam.save()
    response = directory.get("/scim/v2/Users")
    assert response.status_code == 403 and b"alice" not in response.content


def test_discovery_documents_describe_what_is_supported(directory):
    _, config = send(directory, "get", "ServiceProviderConfig")
    assert config["patch"]["supported"] is True and config["bulk"]["supported"] is False
    assert config["filter"] == {"supported": True, "maxResults": 200}
    _, types = send(directory, "get", "ResourceTypes")
    assert [t["id"] for t in types["Resources"]] == ["User", "Group"] and types["Resources"][0]["endpoint"] == "/Users"
    _, schemas = send(directory, "get", "Schemas")
    assert CORE in [s["id"] for s in schemas["Resources"]]
    assert send(directory, "get", f"Schemas/{CORE}")[1]["name"] == "User"
    assert send(directory, "get", "Schemas/urn:nothing")[0].status_code == 404
    assert send(directory, "get", "ResourceTypes/Role")[0].status_code == 404


def test_the_tokens_page_offers_directory_sync_to_security_admins_only(client_for, sam, alice):
    page = client_for(sam).get("/accounts/tokens/").content.decode()
    assert 'name="purpose"' in page and "Directory sync (SCIM)" in page
    assert 'name="purpose"' not in client_for(alice).get("/accounts/tokens/").content.decode()
    response = client_for(sam).post("/accounts/tokens/", {"name": "entra", "days": 365, "purpose": "scim"})
    assert response.status_code == 200 and "Directory sync" in response.content.decode()
    assert PersonalAPIToken.objects.get(name="entra").purpose == "scim"
    # An owner posting the field anyway gets an API token.
    client_for(alice).post("/accounts/tokens/", {"name": "mine", "days": 30, "purpose": "scim"})
    assert PersonalAPIToken.objects.get(name="mine").purpose == "api"


def test_filters_combine_with_or_ne_and_present(directory, alice, bob, charlie):
    _, found = send(directory, "get", "Users?filter=" + 'userName eq "alice" or userName eq "bob"')
    assert {r["userName"] for r in found["Resources"]} == {"alice", "bob"}
    _, found = send(directory, "get", "Users?filter=" + 'userName ne "alice" and emails pr')
    assert {r["userName"] for r in found["Resources"]} == {"bob", "charlie", "sam"}
    _, found = send(directory, "get", "Users?filter=" + 'active eq true and userName co "LI"')
    assert {r["userName"] for r in found["Resources"]} == {"alice", "charlie"}


def test_present_on_an_id_a_flag_or_a_time_finds_everyone_who_has_one(directory, alice, bob):
    """Every person has an id, active and meta.created: "pr" finds them all, never a 500 (an id
    was compared with "" as a text field's emptiness is)."""
    for attribute in ("id", "active", "meta.created"):
        response, found = send(directory, "get", f"Users?filter={attribute} pr")
        assert response.status_code == 200, (attribute, found)
        assert {r["userName"] for r in found["Resources"]} == {"alice", "bob", "sam"}, attribute
    _, found = send(directory, "get", 'Users?filter=id pr and not (userName eq "bob")')
    assert {r["userName"] for r in found["Resources"]} == {"alice", "sam"}


def test_the_person_page_says_the_directory_keeps_them(directory, client_for, sam):
    _, body = send(directory, "post", "Users", okta_user())
    page = client_for(sam).get(f"/users/{body['id']}/").content.decode()
    assert "kept in sync over SCIM" in page and "00u-grace" in page
    send(directory, "delete", f"Users/{body['id']}")
    assert "deleted by the directory" in client_for(sam).get(f"/users/{body['id']}/").content.decode()


def test_a_start_index_past_any_row_is_an_empty_page(directory, alice):
    response, page = send(directory, "get", "Users?startIndex=99999999999999999999999")
    assert response.status_code == 200 and page.get("Resources", []) == [] and page["totalResults"] >= 1


def test_an_external_id_longer_than_kept_is_refused_and_nothing_is_written(directory):
    response, body = send(directory, "post", "Users", okta_user(externalId="e" * 300))
    assert response.status_code == 400 and "externalId is at most 255" in body["detail"]
    assert not get_user_model().objects.filter(username="grace").exists()
    created, user = send(directory, "post", "Users", okta_user())
    replaced, _ = send(directory, "put", f"Users/{user['id']}", okta_user(externalId="e" * 300))
    assert replaced.status_code == 400 and get_user_model().objects.get(username="grace").directory_entry.external_id == "00u-grace"


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_a_user_id_in_other_scripts_digits_is_not_found(directory, alice, method):
    response, body = send(directory, method, "Users/%C2%B2", okta_user() if method == "put" else None)
    assert response.status_code == 404 and body["status"] == "404"


def test_names_longer_than_kept_are_refused_before_any_lookup(directory, alice):
    # SQLite refuses a LIKE pattern past 50,000 bytes: the length is checked first.
    email = [{"primary": True, "value": "grace@example.com", "type": "work"}]
    response, body = send(directory, "post", "Users", okta_user("g" * 100_000, emails=email, externalId="00u-g"))
    assert response.status_code == 400 and body["scimType"] == "invalidValue" and "userName is at most 150" in body["detail"]
    response, body = send(directory, "put", f"Users/{alice.pk}", okta_user("g" * 100_000, emails=email, externalId="00u-g"))
    assert response.status_code == 400 and "userName is at most 150" in body["detail"]
    group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G" * 100_000}
    response, body = send(directory, "post", "Groups", group)
    assert response.status_code == 400 and "displayName is at most 255" in body["detail"]
    assert User.objects.get(pk=alice.pk).username == "alice" and not User.objects.filter(username__startswith="ggg").exists()


@pytest.mark.parametrize("query", ['Users?filter=userName eq "{long}"', 'Users?filter=userName co "{long}"',
                                   'Users?filter=emails.value sw "{long}"', 'Groups?filter=displayName co "{long}"'])
def test_a_filter_value_longer_than_any_kept_matches_nothing(directory, alice, query):
    response, body = send(directory, "get", query.format(long="a" * 60_000))
    assert response.status_code == 200 and body["totalResults"] == 0
    negated, body = send(directory, "get", 'Users?filter=userName ne "{}"'.format("a" * 60_000))
    assert negated.status_code == 200 and body["totalResults"] >= 1
