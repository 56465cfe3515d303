"""Only people with the owner role, or security admins, are made owners of an identity: owning
one is a right to change, suspend, offboard and attest it. A compliance or reviewer person picked
on the register or owners page, in the API or in an import is refused next to the field, naming
their role; the owners' picker offers only those who may own."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inventory.models import AIIdentity, Ownership
from inventory.visibility import CHANGE, can
from nhiportal.audit.models import AuditEvent
from nhiportal.people.roles import OWNER
from tests.conftest import _person

pytestmark = pytest.mark.django_db
REGISTER = reverse("inventory:identity-register")
OWNER_SEARCH = reverse("inventory:owner-search")


def owners_page(identity):
    return reverse("inventory:identity-owners", args=[identity.pk])


def owners_api(identity):
    return reverse("api:identity-owners", args=[identity.pk])


def roles(identity):
    return dict(identity.ownerships.values_list("person__username", "role"))


def register_data(**overrides):
    data = {"name": "invoice-sorter", "kind": "agent", "environment": "production", "purpose": "Sorts invoices.", "autonomy": "supervised"}
    data.update(overrides)
    return data


def test_an_owner_cannot_make_a_compliance_person_a_backup_owner_on_the_owners_page(alice, carol, client_for, make_identity):
    identity = make_identity(alice)
    response = client_for(alice).post(
        owners_page(identity), {"version": identity.version, "primary_owner": alice.pk, "backup_owners": [carol.pk]}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["backup_owners"] == [
        "carol has the compliance role, and only people with the owner or security admin role can own an identity "
        "(owners change, suspend, offboard and attest it). A security admin gives people the owner role on their page under People."
    ]
    assert 'id="id_backup_owners_error"><p>carol has the compliance role' in response.content.decode()
    assert roles(identity) == {"alice": "primary"}
    assert not can(carol, CHANGE, identity)
    assert not AuditEvent.objects.filter(action="identity.owners_set").exists()


def test_a_reviewer_or_someone_without_a_role_cannot_be_made_primary_owner(alice, rita, charlie, client_for, make_identity):
    identity = make_identity(alice)
    for person, role in ((rita, "the reviewer role"), (charlie, "no role")):
        response = client_for(alice).post(owners_page(identity), {"version": identity.version, "primary_owner": person.pk})
        assert response.status_code == 400
        assert response.context["form"].errors["primary_owner"][0].startswith(f"{person.username} has {role}, and only people")
    assert roles(identity) == {"alice": "primary"}


def test_owners_and_security_admins_are_made_owners(alice, bob, sam, client_for, make_identity):
    identity = make_identity(alice)
    response = client_for(alice).post(
        owners_page(identity), {"version": identity.version, "primary_owner": alice.pk, "backup_owners": [bob.pk, sam.pk]}
    )
    assert response.status_code == 302
    assert roles(identity) == {"alice": "primary", "bob": "backup", "sam": "backup"}


def test_an_owner_already_named_without_the_role_stays_when_the_owners_are_saved_again(alice, bob, carol, client_for, make_identity):
    # Made an owner before the rule (the services do not check roles): saving other changes
    # keeps them rather than refusing; promoting them to primary is picking them anew.
    identity = make_identity(alice, backups=[carol])
    client = client_for(alice)
    saved = client.post(owners_page(identity), {"version": identity.version, "primary_owner": alice.pk, "backup_owners": [carol.pk, bob.pk]})
    assert saved.status_code == 302
    assert roles(identity) == {"alice": "primary", "carol": "backup", "bob": "backup"}
    identity.refresh_from_db()
    promoted = client.post(owners_page(identity), {"version": identity.version, "primary_owner": carol.pk, "backup_owners": [alice.pk]})
    assert promoted.status_code == 400 and "carol has the compliance role" in promoted.context["form"].errors["primary_owner"][0]


def test_the_register_page_refuses_a_compliance_backup_and_a_security_admin_naming_a_reviewer_primary(alice, carol, rita, sam, client_for):
    response = client_for(alice).post(REGISTER, register_data(backup_owners=[carol.pk]))
    assert response.status_code == 400 and "carol has the compliance role" in response.context["form"].errors["backup_owners"][0]
    response = client_for(sam).post(REGISTER, register_data(primary_owner=rita.pk, attestation_interval_days="90"))
    assert response.status_code == 400 and "rita has the reviewer role" in response.context["form"].errors["primary_owner"][0]
    assert not AIIdentity.objects.exists()


def test_the_api_answers_400_with_the_fields_reason(alice, carol, rita, sam, client_for, make_identity):
    identity = make_identity(alice)
    response = client_for(alice).put(owners_api(identity), {"primary_owner": "alice", "backup_owners": ["carol"]}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["backup_owners"][0].startswith("carol has the compliance role, and only people with the owner or security admin role")
    response = client_for(alice).put(owners_api(identity), {"primary_owner": "rita"}, content_type="application/json")
    assert response.status_code == 400 and response.json()["primary_owner"][0].startswith("rita has the reviewer role")
    assert roles(identity) == {"alice": "primary"}

    body = {"name": "api-agent", "kind": "agent", "environment": "production", "purpose": "Reads.", "backup_owners": ["carol"]}
    created = client_for(alice).post("/api/v1/identities/", body, content_type="application/json")
    assert created.status_code == 400 and "carol has the compliance role" in created.json()["backup_owners"][0]
    created = client_for(sam).post("/api/v1/identities/", {**body, "backup_owners": [], "primary_owner": "carol"}, content_type="application/json")
    assert created.status_code == 400 and "carol has the compliance role" in created.json()["primary_owner"][0]
    assert not AIIdentity.objects.filter(name="api-agent").exists()


def test_an_import_naming_a_compliance_person_as_backup_imports_nothing(alice, carol, client_for):
    csv = "name,kind,environment,purpose,backup_owners\nimported,agent,production,Imports.,carol\n"
    upload = SimpleUploadedFile("identities.csv", csv.encode(), content_type="text/csv")
    response = client_for(alice).post(reverse("inventory:identity-import"), {"file": upload})
    assert response.status_code == 400
    assert [(p.line, p.column) for p in response.context["problems"]] == [(2, "backup_owners")]
    assert "carol has the compliance role" in response.context["problems"][0].message
    assert not Ownership.objects.exists()


def test_the_owner_picker_offers_only_people_who_may_own(alice, bob, carol, rita, sam, charlie, client_for):
    _person("carla", OWNER)
    found = client_for(alice).get(OWNER_SEARCH, {"q": "ca"}).json()
    assert [r["label"] for r in found["results"]] == ["carla"]  # carol (compliance) is not offered
    for name in ("rita", "charlie"):
        assert client_for(alice).get(OWNER_SEARCH, {"q": name}).json()["results"] == []
    assert [r["label"] for r in client_for(alice).get(OWNER_SEARCH, {"q": "sam"}).json()["results"]] == ["sam"]
    # The everyone directory still answers the forms that name anyone (a service's owner).
    assert "carol" in [r["label"] for r in client_for(sam).get(reverse("inventory:people-search"), {"q": "carol"}).json()["results"]]


def test_the_owner_picker_is_refused_to_those_who_fill_no_owner_form(carol, charlie, rita, client_for):
    for person in (carol, charlie, rita):
        assert client_for(person).get(OWNER_SEARCH, {"q": "a"}).status_code == 403


def test_the_owner_pages_pickers_ask_the_owner_directory(alice, client_for, make_identity):
    identity = make_identity(alice)
    for page in (owners_page(identity), REGISTER):
        html = client_for(alice).get(page).content.decode()
        assert f'data-search-url="{OWNER_SEARCH}"' in html
        assert "owner or security admin role" in html
