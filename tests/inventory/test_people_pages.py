"""People pages: who answers for what, and a leaver's ownership handed over before they go."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from inventory.models import AIIdentity, Ownership, OwnerRole
from inventory.selectors import orphaned_q
from inventory.services import identity_offboard
from nhiportal.audit.models import AuditEvent
from nhiportal.people.roles import roles_of
from nhiportal.people.services import api_token_create
from nhiportal.people.roles import OWNER
from tests.conftest import PASSWORD, _person
from tests.people.test_ending_sessions import made_token, signed_in
from tests.tokens.conftest import crm  # noqa: F401  (fixture)
from tokens.models import Service

pytestmark = pytest.mark.django_db

LIST = "/users/"


@pytest.fixture
def grace(db):
    return _person("grace", OWNER)


def detail(person):
    return f"/users/{person.pk}/"


def owners(identity) -> dict:
    return {o.person.username: o.role for o in Ownership.objects.filter(identity=identity).select_related("person")}


@pytest.mark.parametrize("persona", ["rita", "carol", "sam"])
def test_reviewers_compliance_and_security_admins_see_people_and_what_they_own(persona, request, client_for, alice, bob, make_identity):
    make_identity(alice, name="ticket-summariser", backups=[bob])
    client = client_for(request.getfixturevalue(persona))
    listing = client.get(LIST)
    assert listing.status_code == 200
    rows = {p.username: (p.primary_count, p.backup_count) for p in listing.context["page_obj"].object_list}
    assert rows["alice"] == (1, 0) and rows["bob"] == (0, 1)
    page = client.get(detail(alice))
    assert page.status_code == 200 and "ticket-summariser" in page.content.decode()
    assert [i.name for i in page.context["would_orphan"]] == []  # bob, a backup, is active
    assert "<td>Yes</td>" in page.content.decode()  # the "Other active owner" column
    assert page.context["manage"] is (persona == "sam")


@pytest.mark.parametrize("persona", ["alice", "charlie"])
def test_owners_and_outsiders_are_refused_every_people_page(persona, request, client_for, bob, sam):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(LIST).status_code == 403
    assert client.get(detail(bob)).status_code == 403
    assert client.get(f"/users/{bob.pk}/services-panel/").status_code == 403
    for action in ("handover", "deactivate", "reactivate", "roles"):
        assert client.post(f"/users/{bob.pk}/{action}/", {"deactivate-reason": "x"}).status_code == 403
    assert get_user_model().objects.get(pk=bob.pk).is_active


def test_anonymous_visitors_are_sent_to_log_in(client, bob):
    assert client.get(LIST).status_code == 302
    assert client.post(f"/users/{bob.pk}/deactivate/").status_code == 302


@pytest.mark.parametrize("persona", ["rita", "carol"])
def test_readers_change_nobody(persona, request, client_for, bob):
    client = client_for(request.getfixturevalue(persona))
    assert client.post(f"/users/{bob.pk}/deactivate/", {"deactivate-reason": "Left."}).status_code == 403
    assert client.post(f"/users/{bob.pk}/roles/", {"roles-roles": ["security_admin"]}).status_code == 403
    assert get_user_model().objects.get(pk=bob.pk).is_active and roles_of(get_user_model().objects.get(pk=bob.pk)) == {"owner"}


def test_an_unknown_person_is_a_404(client_for, sam):
    assert client_for(sam).get("/users/999999/").status_code == 404


def test_the_list_filters_by_search_role_and_state(client_for, sam, alice, bob, rita):
    client = client_for(sam)

    def names(**params):
        return [p.username for p in client.get(LIST, params).context["page_obj"].object_list]

    assert names(q="ali") == ["alice"]
    assert names(role="reviewer") == ["rita"]
    assert names(role="security_admin") == ["sam"]
    get_user_model().objects.filter(pk=bob.pk).update(is_active=False)
    assert "bob" not in names() and names(state="inactive") == ["bob"]
    assert names(role="nonsense", state="nonsense") == names()  # unknown values are ignored


def test_a_security_admin_hands_a_leavers_ownership_over_in_one_step(client_for, sam, alice, bob, grace, make_identity, crm):
    solo = make_identity(alice, name="solo-agent")
    shared = make_identity(bob, name="shared-agent", backups=[alice])
    both = make_identity(alice, name="both-agent", backups=[grace])
    gone = make_identity(alice, name="gone-agent")
    identity_offboard(actor=alice, identity=gone, reason="Retired.")
    Service.objects.filter(pk=crm.pk).update(owner=alice)
    client = client_for(sam)
    response = client.post(f"/users/{alice.pk}/handover/", {"handover-successor": grace.pk, "handover-reason": "Alice moves to the data team."})
    assert response.status_code == 302
    assert owners(solo) == {"grace": OwnerRole.PRIMARY}
    assert owners(shared) == {"bob": OwnerRole.PRIMARY, "grace": OwnerRole.BACKUP}
    assert owners(both) == {"grace": OwnerRole.PRIMARY}  # the backup moves up in the primary's place
    assert owners(gone) == {"alice": OwnerRole.PRIMARY}  # an offboarded identity's owners are a record
    assert Service.objects.get(pk=crm.pk).owner == grace
    events = AuditEvent.objects.filter(action="identity.owners_set", actor_label="sam")
    assert events.count() == 3 and {e.reason for e in events} == {"Alice moves to the data team."}
    service_event = AuditEvent.objects.get(action="service.update", object_id=str(crm.pk))
    assert service_event.after == {"owner": "grace"} and service_event.reason == "Alice moves to the data team."
    follow = client.get(detail(alice))
    assert "grace now answers for 3 identities and 1 service alice owned." in [str(m) for m in follow.context["messages"]]
    assert follow.context["owned"] == []


@pytest.mark.parametrize(
    "data, field, said",
    [
        ({"handover-reason": "Leaves."}, "successor", "This field is required."),
        ({"handover-successor": "ALICE", "handover-reason": "Leaves."}, "successor", "Select a valid choice."),
        ({"handover-successor": "DMITRI", "handover-reason": "Leaves."}, "successor", "Select a valid choice."),
        ({"handover-successor": "not-an-id", "handover-reason": "Leaves."}, "successor", "Select a valid choice."),
        ({"handover-successor": "BOB", "handover-reason": "  "}, "reason", "This field is required."),
    ],
)
def test_a_bad_handover_changes_nothing_and_says_why_next_to_the_field(client_for, sam, alice, bob, make_identity, data, field, said):
    dmitri = get_user_model().objects.create_user("dmitri", "dmitri@example.com", is_active=False)
    identity = make_identity(alice)
    people = {"ALICE": alice.pk, "BOB": bob.pk, "DMITRI": dmitri.pk}
    data = {k: people.get(v, v) for k, v in data.items()}
    response = client_for(sam).post(f"/users/{alice.pk}/handover/", data)
    assert response.status_code == 400
    assert any(said in e for e in response.context["handover_form"].errors[field])
    assert owners(identity) == {"alice": OwnerRole.PRIMARY}
    assert not AuditEvent.objects.filter(action="identity.owners_set").exists()


def test_deactivating_warns_of_what_it_orphans_then_stops_sign_in_and_revokes_api_tokens(client_for, sam, alice, bob, make_identity):
    make_identity(alice, name="solo-agent")
    make_identity(alice, name="shared-agent", backups=[bob])
    _token, raw_token = api_token_create(user=alice, name="ci", days=30)
    assert Client().get("/api/v1/identities/", HTTP_AUTHORIZATION=f"Bearer {raw_token}").status_code == 200
    client = client_for(sam)
    page = client.get(detail(alice))
    assert [i.name for i in page.context["would_orphan"]] == ["solo-agent"]
    assert "1 identity would be left without an active owner" in page.content.decode()
    assert ">No one</span>" in page.content.decode() and "<td>Yes</td>" in page.content.decode()  # solo, shared
    assert client.post(f"/users/{alice.pk}/deactivate/", {"deactivate-reason": ""}).status_code == 400
    assert get_user_model().objects.get(pk=alice.pk).is_active
    response = client.post(f"/users/{alice.pk}/deactivate/", {"deactivate-reason": "Left the company."})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert not alice.is_active
    event = AuditEvent.objects.get(action="person.deactivate")
    assert event.object_repr == "alice" and event.reason == "Left the company." and event.after == {"is_active": False, "api_tokens_revoked": 1, "sessions_ended": 0}
    assert Client().post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 200  # the form again
    assert AIIdentity.objects.filter(orphaned_q(), name="solo-agent").exists()
    assert Client().get("/api/v1/identities/", HTTP_AUTHORIZATION=f"Bearer {raw_token}").status_code in (401, 403)
    assert client.post(f"/users/{alice.pk}/reactivate/", {"reactivate-reason": "Came back."}).status_code == 302
    assert get_user_model().objects.get(pk=alice.pk).is_active
    assert AuditEvent.objects.get(action="person.reactivate").reason == "Came back."
    # Coming back does not revive the tokens: they were revoked with the departure.
    assert Client().get("/api/v1/identities/", HTTP_AUTHORIZATION=f"Bearer {raw_token}").status_code in (401, 403)


def test_a_deactivated_persons_session_no_longer_opens_pages(client_for, sam, alice):
    theirs = client_for(alice)
    assert theirs.get("/").status_code == 200
    client_for(sam).post(f"/users/{alice.pk}/deactivate/", {"deactivate-reason": "Left."})
    assert theirs.get("/").status_code == 302  # sent to log in


def test_a_security_admin_sets_roles_with_one_audit_event(client_for, sam, bob):
    client = client_for(sam)
    response = client.post(f"/users/{bob.pk}/roles/", {"roles-roles": ["owner", "reviewer"]})
    assert response.status_code == 302
    assert roles_of(get_user_model().objects.get(pk=bob.pk)) == {"owner", "reviewer"}
    event = AuditEvent.objects.get(action="person.roles_set")
    assert event.before == {"roles": ["owner"]} and event.after == {"roles": ["owner", "reviewer"]}
    client.post(f"/users/{bob.pk}/roles/", {"roles-roles": ["owner", "reviewer"]})  # no change: no event
    assert AuditEvent.objects.filter(action="person.roles_set").count() == 1
    bad = client.post(f"/users/{bob.pk}/roles/", {"roles-roles": ["owner", "king"]})
    assert bad.status_code == 400 and bad.context["roles_form"].errors["roles"]


def test_nobody_manages_themselves(client_for, sam):
    client = client_for(sam)
    page = client.get(detail(sam))
    assert page.status_code == 200 and page.context["manage"] is False
    assert "Another security admin changes your own roles" in page.content.decode()
    assert client.post(f"/users/{sam.pk}/deactivate/", {"deactivate-reason": "Oops."}).status_code == 403
    assert client.post(f"/users/{sam.pk}/roles/", {"roles-roles": []}).status_code == 403
    assert get_user_model().objects.get(pk=sam.pk).is_active and roles_of(get_user_model().objects.get(pk=sam.pk)) == {"security_admin"}


def test_the_services_panel_lists_what_they_own(client_for, carol, alice, crm):
    Service.objects.filter(pk=crm.pk).update(owner=alice)
    assert "CRM" in client_for(carol).get(f"/users/{alice.pk}/services-panel/").content.decode()


def test_the_identity_page_links_owners_to_their_people_page_for_readers_only(client_for, rita, alice, make_identity):
    identity = make_identity(alice)
    link = f'href="/users/{alice.pk}/"'
    assert link in client_for(rita).get(f"/identities/{identity.pk}/").content.decode()
    assert link not in client_for(alice).get(f"/identities/{identity.pk}/").content.decode()


def test_the_list_warns_of_leavers_who_still_own_identities(client_for, sam, alice, bob, make_identity):
    make_identity(alice)
    client = client_for(sam)
    assert client.get(LIST).context["leavers"] == 0
    get_user_model().objects.filter(pk__in=[alice.pk, bob.pk]).update(is_active=False)  # bob owns nothing
    page = client.get(LIST)
    assert page.context["leavers"] == 1 and "1 inactive person still owns identities in service" in page.content.decode()


def test_the_list_shows_and_filters_how_people_sign_in(client_for, sam, rita, alice, bob):
    from nhiportal.people.models import SecondFactor, SingleSignOnLink
    from nhiportal.people.second_factor import encrypt_secret

    SecondFactor.objects.create(user=alice, secret_encrypted=encrypt_secret("JBSWY3DPEHPK3PXP"))
    SingleSignOnLink.objects.create(user=bob, issuer="https://idp.example", subject="00u-bob")
    bob.set_unusable_password()
    bob.save()
    client = client_for(rita)

    def listed(sign_in):
        return [p.username for p in client.get(f"{LIST}?sign_in={sign_in}").context["page_obj"].object_list]

    assert listed("second_factor") == ["alice"]
    assert listed("sso") == ["bob"]
    assert listed("password_alone") == ["rita", "sam"]
    assert len(listed("anything-else")) == 4  # an unknown choice filters nothing
    row = client.get(LIST).content.decode()
    assert '<span class="badge badge-ok">2FA</span>' in row and '<span class="badge badge-info">SSO</span>' in row
    api = client.get("/api/v1/people/?sign_in=password_alone").json()
    assert [p["username"] for p in api["results"]] == ["rita", "sam"]
    assert client.get("/api/v1/people/?sign_in=telepathy").status_code == 400


def test_ending_sessions_says_how_many_api_tokens_made_in_them_were_revoked(client_for, sam, alice):
    laptop, phone = signed_in(alice), signed_in(alice)
    made_token(laptop)
    made_token(phone, "export")
    api_token_create(user=alice, name="made outside any session", days=30)  # not taken with the sessions
    response = client_for(sam).post(f"/users/{alice.pk}/sessions/end/", {"sessions-reason": "Laptop stolen.", "sessions-confirm": "on"}, follow=True)
    assert "Ended 2 sessions of alice (revoked the 2 API tokens made in them): they sign in again to go on." in response.content.decode()

    signed_in(alice)
    response = client_for(sam).post(f"/users/{alice.pk}/sessions/end/", {"sessions-reason": "Once more.", "sessions-confirm": "on"}, follow=True)
    assert "Ended 1 session of alice (no API token was made in it)" in response.content.decode()
    assert [e.after["api_tokens_revoked"] for e in AuditEvent.objects.filter(action="person.sessions_ended").order_by("id")] == [2, 0]


def test_deactivating_says_how_many_api_tokens_were_revoked(client_for, sam, alice, bob):
    for name in ("ci", "nightly"):
        api_token_create(user=alice, name=name, days=30)
    client = client_for(sam)
    gone = client.post(f"/users/{alice.pk}/deactivate/", {"deactivate-reason": "Left the company."}, follow=True)
    assert "alice is deactivated: they are signed out, can no longer sign in, and their 2 API tokens are revoked." in gone.content.decode()
    gone = client.post(f"/users/{bob.pk}/deactivate/", {"deactivate-reason": "Left the company."}, follow=True)
    assert "bob is deactivated: they are signed out, can no longer sign in, and they held no API token to revoke." in gone.content.decode()


NOTHING_TO_HAND_OVER = "Nothing to hand over: they own no identity in service and no service."


def test_a_person_who_owns_nothing_is_offered_no_handover(client_for, sam, alice, make_identity):
    gone = make_identity(alice, name="gone-agent")
    identity_offboard(actor=alice, identity=gone, reason="Retired.")  # an offboarded identity's owners are a record
    html = client_for(sam).get(detail(alice)).content.decode()
    assert NOTHING_TO_HAND_OVER in html
    assert f'action="/users/{alice.pk}/handover/"' not in html and 'name="handover-successor"' not in html


@pytest.mark.parametrize("owns", ["identity", "service"])
def test_a_person_who_owns_an_identity_or_a_service_is_offered_the_handover(client_for, sam, alice, make_identity, crm, owns):
    if owns == "identity":
        make_identity(alice)
    else:
        Service.objects.filter(pk=crm.pk).update(owner=alice, is_active=False)  # a retired service still moves
    html = client_for(sam).get(detail(alice)).content.decode()
    assert NOTHING_TO_HAND_OVER not in html
    assert f'action="/users/{alice.pk}/handover/"' in html and 'name="handover-successor"' in html


def test_handing_over_from_someone_who_owns_nothing_says_so_and_writes_nothing(client_for, sam, alice, grace):
    response = client_for(sam).post(
        f"/users/{alice.pk}/handover/", {"handover-successor": grace.pk, "handover-reason": "Alice leaves."}, follow=True,
    )
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [NOTHING_TO_HAND_OVER]
    assert not AuditEvent.objects.filter(action__in=["identity.owners_set", "service.update"]).exists()


def test_a_refused_handover_keeps_its_form_even_when_nothing_is_owned(client_for, sam, alice):
    response = client_for(sam).post(f"/users/{alice.pk}/handover/", {"handover-reason": "Alice leaves."})
    assert response.status_code == 400
    assert response.context["handover_form"].errors["successor"] and 'name="handover-successor"' in response.content.decode()
