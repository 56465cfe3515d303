"""Only people with the owner role, or security admins, are made owners of an identity: owning
one is a right to change, suspend, offboard and attest it. The write services refuse anyone else,
so every path obeys: a compliance or reviewer person picked on the register or owners page, in
the API, in an import or as a leaver's successor is refused next to the field, naming their role,
and one who may not own is neither offered a claim nor made owner by an approved one; the
pickers offer only those who may own."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inventory.claims import CLAIMANTS, claim_approve, claim_create
from inventory.handover import ownerships_hand_over
from inventory.models import AIIdentity, ClaimState, Ownership, OwnershipClaim
from inventory.owner_roles import cannot_own
from inventory.services import identity_owners_set, identity_register
from inventory.visibility import CHANGE, can
from nhiportal.audit.models import AuditEvent
from nhiportal.people.roles import OWNER
from tests.conftest import _person
from tokens.services import service_create

pytestmark = pytest.mark.django_db
REGISTER = reverse("inventory:identity-register")
OWNER_SEARCH = reverse("inventory:owner-search")


CAROL_REFUSED = (
    "carol has the compliance role, and only people with the owner or security admin role can own an identity "
    "(owners change, suspend, offboard and attest it). A security admin gives people the owner role on their page under People."
)


def owners_page(identity):
    return reverse("inventory:identity-owners", args=[identity.pk])


def owners_api(identity):
    return reverse("api:identity-owners", args=[identity.pk])


def roles(identity):
    return dict(identity.ownerships.values_list("person__username", "role"))


def orphaned(owner, make_identity):
    """An identity whose only owner has left."""
    identity = make_identity(owner, name="ledger-bot")
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    return identity


def handover_form(client, leaver) -> str:
    page = client.get(f"/users/{leaver.pk}/").content.decode()
    return page[page.index('id="handover"'):page.index("</form>", page.index('id="handover"'))]


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
    # Made an owner while she had the owner role, which she has lost since: saving other changes
    # keeps her rather than refusing; promoting her to primary is picking her anew.
    carol.groups.add(Group.objects.get(name=OWNER))
    identity = make_identity(alice, backups=[carol])
    carol.groups.remove(Group.objects.get(name=OWNER))
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


# Every path that makes someone an owner obeys the rule, because the write services do.


def test_the_services_refuse_a_person_who_may_not_own_and_write_nothing(alice, bob, carol, rita, charlie, make_identity):
    with pytest.raises(ValidationError) as refused:
        identity_register(
            actor=alice, name="direct-agent", kind="agent", environment="production", primary_owner=alice, backup_owners=[bob, carol],
        )
    assert refused.value.message_dict == {"backup_owners": [CAROL_REFUSED]}
    assert not AIIdentity.objects.filter(name="direct-agent").exists()

    identity = make_identity(alice)
    with pytest.raises(ValidationError) as refused:
        identity_owners_set(actor=alice, identity=identity, primary_owner=rita, backup_owners=[alice, charlie])
    assert refused.value.message_dict["primary_owner"][0].startswith("rita has the reviewer role, and only people")
    assert refused.value.message_dict["backup_owners"][0].startswith("charlie has no role, and only people")
    assert roles(identity) == {"alice": "primary"} and not can(rita, CHANGE, identity)
    assert not AuditEvent.objects.filter(action="identity.owners_set").exists()


def test_a_handover_to_someone_who_may_not_own_moves_nothing_and_names_them(alice, rita, sam, make_identity):
    identity = make_identity(alice)
    with pytest.raises(ValidationError) as refused:
        ownerships_hand_over(actor=sam, leaver=alice, successor=rita, reason="alice leaves")
    assert refused.value.message_dict == {"successor": [cannot_own(rita)]}
    assert roles(identity) == {"alice": "primary"}
    assert not AuditEvent.objects.filter(action="identity.owners_set").exists()


def test_the_person_page_and_the_api_refuse_that_handover_next_to_the_successor(alice, carol, sam, client_for, make_identity):
    identity = make_identity(alice)
    client = client_for(sam)
    page = client.post(f"/users/{alice.pk}/handover/", {"handover-successor": carol.pk, "handover-reason": "alice leaves"})
    assert page.status_code == 400
    assert page.context["handover_form"].errors["successor"] == [CAROL_REFUSED]
    api = client.post(f"/api/v1/people/{alice.pk}/handover/", {"successor": carol.pk, "reason": "alice leaves"}, content_type="application/json")
    assert api.status_code == 400 and api.json() == {"successor": [CAROL_REFUSED]}
    assert roles(identity) == {"alice": "primary"}


def test_the_handover_picker_offers_only_people_who_may_own_when_identities_move(alice, bob, sam, client_for, make_identity):
    # bob owns a service and no identity: his handover moves no identity, so anyone may take the service.
    service_create(actor=sam, name="Wiki", audience="https://wiki.example.com", owner=bob, trust_boundary="corp-internal", scopes=["pages:read"])
    assert f'data-search-url="{reverse("inventory:people-search")}"' in handover_form(client_for(sam), bob)
    make_identity(alice)
    form = handover_form(client_for(sam), alice)
    assert f'data-search-url="{OWNER_SEARCH}"' in form and "Someone with the owner or security admin role" in form


def test_a_reviewer_or_compliance_person_is_not_offered_a_claim_and_is_refused_one(alice, bob, rita, carol, client_for, make_identity):
    orphan = orphaned(alice, make_identity)
    listing = client_for(rita).get("/claims/orphaned/").content.decode()
    assert orphan.name in listing and f"/identities/{orphan.pk}/claim/" not in listing
    assert "Only people with the owner or security admin role claim one" in listing
    assert f"/identities/{orphan.pk}/claim/" in client_for(bob).get("/claims/orphaned/").content.decode()
    dashboard = client_for(rita).get("/").content.decode()
    assert "See them and their claims" in dashboard and "Claim one you answer for now" not in dashboard
    for person in (rita, carol):
        with pytest.raises(PermissionDenied):
            claim_create(actor=person, identity=orphan, reason="My team runs it.")
        assert client_for(person).post(f"/identities/{orphan.pk}/claim/", {"reason": "My team runs it."}).status_code == 403
        api = client_for(person).post("/api/v1/claims/", {"identity": str(orphan.pk), "reason": "Mine."}, content_type="application/json")
        assert api.status_code == 403 and api.json()["detail"] == CLAIMANTS
    assert not OwnershipClaim.objects.exists()


def test_a_claimant_who_lost_the_owner_role_is_not_made_owner_and_only_refusing_is_offered(alice, bob, rita, client_for, make_identity):
    orphan = orphaned(alice, make_identity)
    claim = claim_create(actor=bob, identity=orphan, reason="I took over the team.")
    bob.groups.clear()  # his role changed while the claim waited
    said = f"{cannot_own(bob)} Refuse this claim."
    with pytest.raises(ValidationError) as refused:
        claim_approve(actor=rita, claim=claim)
    assert refused.value.messages == [said]

    page = client_for(rita).get(f"/claims/{claim.pk}/").content.decode()
    assert "bob has no role, and only people with the owner or security admin role" in page
    assert "Approve: make the claimant primary owner" not in page and ">Refuse</button>" in page
    approved = client_for(rita).post(f"/claims/{claim.pk}/", {"decision": "approve", "approve-reason": ""})
    assert approved.status_code == 400
    api = client_for(rita).post(f"/api/v1/claims/{claim.pk}/approve/", {}, content_type="application/json")
    assert api.status_code == 409 and api.json() == {"detail": said}
    claim.refresh_from_db()
    assert claim.state == ClaimState.PENDING and roles(orphan) == {"alice": "primary"}

    rejected = client_for(rita).post(f"/claims/{claim.pk}/", {"decision": "reject", "reject-reason": "bob no longer owns identities."})
    assert rejected.status_code == 302
    claim.refresh_from_db()
    assert claim.state == ClaimState.REJECTED


def test_the_claims_list_offers_no_mine_tab_to_people_who_make_no_claims(alice, bob, rita, client_for):
    assert "view=mine" not in client_for(rita).get("/claims/").content.decode()
    assert "view=mine" in client_for(bob).get("/claims/").content.decode()
