"""Ownership claims through the API: who claims an orphan, who decides, what approval changes, 4xx with reasons."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from inventory.claims import claim_create
from inventory.models import ClaimState, OwnershipClaim, OwnerRole
from inventory.services import identity_offboard
from nhiportal.audit.models import AuditEvent
from nhiportal.people.roles import OWNER, REVIEWER, SECURITY_ADMIN
from tests.conftest import _person
from tokens.models import AccessRequestState

LIST = "/api/v1/claims/"
ORPHANED = f"{LIST}orphaned/"
WHY = "I took over the ledger team's automation when alice left."


def api(client_for, user):
    client = client_for(user)

    def call(method, url, data=None):
        return getattr(client, method)(f"{LIST}{url}", data, content_type="application/json")

    return call


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def leave(person):
    """The person leaves the company: their account is deactivated."""
    person.is_active = False
    person.save(update_fields=["is_active"])


@pytest.fixture
def dave(db):
    """Another owner, uninvolved."""
    return _person("dave", OWNER)


@pytest.fixture
def rosa(db):
    """A reviewer who also owns identities: she claims as an owner, and decides others' claims."""
    return _person("rosa", REVIEWER, OWNER)


@pytest.fixture
def orphan(make_identity, alice, dave):
    # dave is a backup owner who left too: the identity has owners, none of them active.
    identity = make_identity(alice, backups=[dave], name="ledger-bot")
    leave(alice)
    leave(dave)
    return identity


@pytest.fixture
def claimed(client_for, bob, orphan):
    created = api(client_for, bob)("post", "", {"identity": str(orphan.pk), "reason": WHY})
    assert created.status_code == 201, created.content
    return created.json()


def owners_of(identity):
    return {o.person.username: o.role for o in identity.ownerships.select_related("person")}


def test_an_owner_claims_an_orphan_and_a_reviewer_approval_makes_him_primary_owner(client_for, alice, bob, rita, orphan):
    created = api(client_for, bob)("post", "", {"identity": str(orphan.pk), "reason": f"  {WHY}  "})

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["identity"] == str(orphan.pk) and body["identity_name"] == "ledger-bot"
    assert body["claimant"] == "bob" and body["reason"] == WHY and body["state"] == "pending"
    assert body["decided_by"] == "" and body["decided_at"] is None and body["decision_reason"] == ""
    assert owners_of(orphan) == {"alice": OwnerRole.PRIMARY, "dave": OwnerRole.BACKUP}

    approved = api(client_for, rita)("post", f"{body['id']}/approve/", {"reason": "Confirmed with the ledger team lead."})

    assert approved.status_code == 200, approved.content
    after = approved.json()
    assert after["state"] == "approved" and after["decided_by"] == "rita"
    assert after["decision_reason"] == "Confirmed with the ledger team lead." and after["decided_at"] is not None
    # The claimant answers for it now; the former owners stay on as backups, for the record.
    assert owners_of(orphan) == {"bob": OwnerRole.PRIMARY, "alice": OwnerRole.BACKUP, "dave": OwnerRole.BACKUP}
    assert AuditEvent.objects.filter(action="claim.create", object_id=str(body["id"]), actor=bob).count() == 1
    assert AuditEvent.objects.filter(action="claim.approve", object_id=str(body["id"]), actor=rita).count() == 1
    # It is no longer an orphan, and bob sees it through the identities API.
    assert api(client_for, rita)("get", "orphaned/").json()["count"] == 0
    assert client_for(bob).get(reverse("api:identity-detail", args=[orphan.pk])).json()["orphaned"] is False


def test_the_orphaned_list_shows_what_identifies_each_orphan(client_for, bob, carol, orphan, make_identity, alice, claimed):
    make_identity(bob, name="owned-bot")  # bob is active: not an orphan
    listed = api(client_for, bob)("get", "orphaned/")
    assert listed.status_code == 200, listed.content
    assert listed.json()["count"] == 1
    (row,) = listed.json()["results"]
    assert row == {
        "id": str(orphan.pk), "name": "ledger-bot", "kind": orphan.kind, "environment": orphan.environment,
        "status": orphan.status, "former_primary_owner": "alice", "pending_claims": 1, "claimed_by_me": True,
    }
    # Compliance reads it too (it reads everything), and has claimed nothing.
    (seen,) = api(client_for, carol)("get", "orphaned/").json()["results"]
    assert seen["id"] == str(orphan.pk) and seen["claimed_by_me"] is False


def test_the_claimant_never_decides_his_own_claim(client_for, rosa, sam, orphan):
    pk = api(client_for, rosa)("post", "", {"identity": str(orphan.pk), "reason": "My team runs it now."}).json()["id"]
    call = api(client_for, rosa)
    refused = call("post", f"{pk}/approve/", {})
    assert refused.status_code == 403 and "not the claimant" in refused.json()["detail"]
    assert call("post", f"{pk}/reject/", {"reason": "changed my mind"}).status_code == 403
    assert OwnershipClaim.objects.get(pk=pk).state == ClaimState.PENDING
    assert api(client_for, sam)("post", f"{pk}/approve/", {}).status_code == 200
    assert owners_of(orphan)["rosa"] == OwnerRole.PRIMARY


def test_owners_do_not_decide_claims(client_for, bob, claimed):
    pk = claimed["id"]
    # Another owner does not even see bob's claim; bob, an owner and the claimant, may not decide it.
    other = api(client_for, _person("erin", OWNER))
    assert other("get", f"{pk}/").status_code == 404
    assert other("post", f"{pk}/approve/", {}).status_code == 404
    assert api(client_for, bob)("post", f"{pk}/approve/", {}).status_code == 403
    assert api(client_for, bob)("get", "?view=waiting").json()["results"] == []
    assert OwnershipClaim.objects.get(pk=pk).state == ClaimState.PENDING


def test_rejecting_needs_a_reason_and_leaves_the_identity_orphaned(client_for, rita, orphan, claimed):
    pk = claimed["id"]
    call = api(client_for, rita)
    missing = call("post", f"{pk}/reject/", {})
    assert missing.status_code == 400 and "reason" in missing.json()
    blank = call("post", f"{pk}/reject/", {"reason": "  "})
    assert blank.status_code == 400 and "reason" in blank.json()
    assert OwnershipClaim.objects.get(pk=pk).state == ClaimState.PENDING

    rejected = call("post", f"{pk}/reject/", {"reason": "The ledger team says carol's team owns it."})
    assert rejected.status_code == 200, rejected.content
    assert rejected.json()["state"] == "rejected" and rejected.json()["decision_reason"].startswith("The ledger team")
    assert owners_of(orphan) == {"alice": OwnerRole.PRIMARY, "dave": OwnerRole.BACKUP}
    assert AuditEvent.objects.filter(action="claim.reject", object_id=str(pk)).count() == 1


def test_only_the_claimant_withdraws_a_claim(client_for, bob, rita, sam, claimed):
    pk = claimed["id"]
    for decider in (rita, sam):
        refused = api(client_for, decider)("post", f"{pk}/cancel/", {})
        assert refused.status_code == 403 and "claimant" in refused.json()["detail"]
    cancelled = api(client_for, bob)("post", f"{pk}/cancel/", {"reason": "Wrong bot."})
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["state"] == "cancelled" and cancelled.json()["decided_by"] == "bob"
    assert cancelled.json()["decision_reason"] == "Wrong bot."
    assert AuditEvent.objects.filter(action="claim.cancel", object_id=str(pk)).count() == 1


def test_a_claim_that_no_longer_waits_is_refused_with_its_state(client_for, bob, rita, claimed):
    pk = claimed["id"]
    assert api(client_for, bob)("post", f"{pk}/cancel/", {}).status_code == 200
    for person, verb, data in [(rita, "approve", {}), (rita, "reject", {"reason": "late"}), (bob, "cancel", {})]:
        late = api(client_for, person)("post", f"{pk}/{verb}/", data)
        assert late.status_code == 409, (verb, late.content)
        assert "cancelled" in late.json()["detail"]


def test_an_identity_with_an_active_owner_cannot_be_claimed(client_for, alice, bob, make_identity):
    owned = make_identity(alice)
    refused = api(client_for, bob)("post", "", {"identity": str(owned.pk), "reason": "Mine now."})
    assert refused.status_code == 404
    unknown = api(client_for, bob)("post", "", {"identity": "00000000-0000-0000-0000-000000000000", "reason": "Mine now."})
    assert unknown.status_code == 404
    assert not OwnershipClaim.objects.exists()


def test_an_offboarded_identity_cannot_be_claimed(client_for, alice, bob, make_identity):
    retired = make_identity(alice)
    identity_offboard(actor=alice, identity=retired, reason="Project ended.")
    leave(alice)
    assert api(client_for, bob)("get", "orphaned/").json()["results"] == []
    assert api(client_for, bob)("post", "", {"identity": str(retired.pk), "reason": "Mine now."}).status_code == 404
    assert not OwnershipClaim.objects.exists()


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"identity": None}, "identity"),
        ({"identity": "not-a-uuid"}, "identity"),
        ({"reason": None}, "reason"),
        ({"reason": "   "}, "reason"),
    ],
)
def test_bad_input_is_refused_with_the_reason_keyed_by_field(client_for, bob, orphan, changes, field):
    data = {key: value for key, value in ({"identity": str(orphan.pk), "reason": WHY} | changes).items() if value is not None}
    refused = api(client_for, bob)("post", "", data)
    assert refused.status_code == 400, refused.content
    assert field in refused.json()
    assert not OwnershipClaim.objects.exists()


def test_a_second_waiting_claim_by_the_same_person_is_refused(client_for, bob, orphan, claimed):
    again = api(client_for, bob)("post", "", {"identity": str(orphan.pk), "reason": "Again."})
    assert again.status_code == 400 and "identity" in again.json()
    assert OwnershipClaim.objects.count() == 1


def test_an_outsider_sees_nothing_and_claims_nothing(client_for, charlie, orphan, claimed):
    pk = claimed["id"]
    call = api(client_for, charlie)
    assert call("get", "orphaned/").status_code == 403
    assert ids(call("get", "")) == []
    assert ids(call("get", "?view=waiting")) == []
    assert call("get", f"{pk}/").status_code == 404
    assert call("post", f"{pk}/approve/", {}).status_code == 404
    assert call("post", f"{pk}/cancel/", {}).status_code == 404
    refused = call("post", "", {"identity": str(orphan.pk), "reason": "Mine now."})
    assert refused.status_code == 403
    assert OwnershipClaim.objects.count() == 1


def test_compliance_reads_claims_but_neither_claims_nor_decides(client_for, carol, orphan, claimed):
    pk = claimed["id"]
    call = api(client_for, carol)
    assert ids(call("get", "")) == [pk]
    assert call("get", f"{pk}/").json()["reason"] == WHY
    assert call("post", "", {"identity": str(orphan.pk), "reason": "Compliance keeps it."}).status_code == 403
    assert call("post", "", {}).status_code == 403  # who may claim is answered before the fields
    assert call("post", f"{pk}/approve/", {}).status_code == 403
    assert call("post", f"{pk}/reject/", {"reason": "no"}).status_code == 403
    assert call("post", f"{pk}/reject/", {}).status_code == 403  # who may decide is answered before the reason
    assert call("post", f"{pk}/cancel/", {}).status_code == 403
    assert OwnershipClaim.objects.get().state == ClaimState.PENDING


def test_an_anonymous_client_is_refused(db, orphan):
    client = Client()
    assert client.get(LIST).status_code == 401
    assert client.get(ORPHANED).status_code == 401
    assert client.post(LIST, {"identity": str(orphan.pk), "reason": WHY}, content_type="application/json").status_code == 401
    assert not OwnershipClaim.objects.exists()


def test_the_waiting_view_lists_what_each_reviewer_must_decide(client_for, bob, rosa, sam, orphan, make_identity, alice):
    second = make_identity(sam, name="payroll-bot")
    leave(sam)  # sam left too: his identity is an orphan, and he decides nothing any more
    by_bob = claim_create(actor=bob, identity=orphan, reason=WHY).pk
    by_rosa = claim_create(actor=rosa, identity=second, reason="Payroll is my team's now.").pk

    assert ids(api(client_for, rosa)("get", "?view=waiting")) == [by_bob]  # not her own
    security = _person("sue", SECURITY_ADMIN)
    assert ids(api(client_for, security)("get", "?view=waiting")) == [by_bob, by_rosa]  # oldest first
    assert ids(api(client_for, bob)("get", "?view=waiting")) == []  # owners decide nothing

    assert api(client_for, security)("post", f"{by_bob}/approve/", {}).status_code == 200
    assert ids(api(client_for, security)("get", "?view=waiting")) == [by_rosa]
    assert ids(api(client_for, rosa)("get", "?view=waiting")) == []


def test_the_list_narrows_by_view_and_state(client_for, bob, rosa, sam, orphan, claimed):
    by_rosa = api(client_for, rosa)("post", "", {"identity": str(orphan.pk), "reason": "My team runs it now."}).json()["id"]
    by_bob = claimed["id"]
    call = api(client_for, rosa)
    everything = call("get", "")
    assert everything.json()["count"] == 2 and ids(everything) == [by_rosa, by_bob]  # newest first
    assert ids(call("get", "?view=mine")) == [by_rosa]
    assert ids(api(client_for, bob)("get", "")) == [by_bob]  # an owner sees his own
    assert call("post", f"{by_bob}/reject/", {"reason": "Mine, not his."}).status_code == 403  # a rival does not judge
    assert api(client_for, sam)("post", f"{by_bob}/reject/", {"reason": "Rita's team runs it."}).status_code == 200
    assert ids(call("get", "?state=pending")) == [by_rosa]
    assert ids(call("get", "?state=rejected")) == [by_bob]
    assert ids(call("get", "?view=mine&state=rejected")) == []
    unknown = call("get", "?view=everyone&state=maybe")
    assert unknown.status_code == 400 and {"view", "state"} <= set(unknown.json())


def test_the_schema_names_the_claim_states_apart_from_the_access_request_states(db, client):
    schema = json.loads(client.get(reverse("api-schema"), {"format": "json"}).content)
    for route, methods in {
        "/api/v1/claims/": {"get", "post"},
        "/api/v1/claims/{id}/": {"get"},
        "/api/v1/claims/{id}/approve/": {"post"},
        "/api/v1/claims/{id}/reject/": {"post"},
        "/api/v1/claims/{id}/cancel/": {"post"},
        "/api/v1/claims/orphaned/": {"get"},
    }.items():
        assert methods <= set(schema["paths"][route]), route
    enums = schema["components"]["schemas"]
    assert enums["ClaimStateEnum"]["enum"] == list(ClaimState.values)
    assert enums["AccessRequestStateEnum"]["enum"] == list(AccessRequestState.values)
