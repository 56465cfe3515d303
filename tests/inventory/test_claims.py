"""Ownership claims: someone takes over an identity whose owners have all left."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from inventory.claims import claim_approve, claim_cancel, claim_create, claim_reject
from inventory.models import ClaimState, OwnershipClaim, OwnerRole
from inventory.selectors import claim_list
from inventory.services import identity_offboard
from nhiportal.audit.models import AuditEvent
from nhiportal.people.roles import OWNER, REVIEWER
from tests.conftest import _person


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
    """A reviewer who also owns identities, so may claim one as well as decide others' claims."""
    return _person("rosa", REVIEWER, OWNER)


@pytest.fixture
def orphan(make_identity, alice):
    identity = make_identity(alice, name="ledger-bot")
    leave(alice)
    return identity


@pytest.fixture
def claim(orphan, bob):
    return claim_create(actor=bob, identity=orphan, reason="I took over the ledger team's automation.")


def test_an_approved_claim_makes_the_claimant_primary_owner_and_keeps_the_former_ones(claim, orphan, alice, bob, rita, client_for):
    claim = claim_approve(actor=rita, claim=claim, reason="Confirmed with the ledger team lead.")
    assert claim.state == ClaimState.APPROVED and claim.decided_by == rita
    owners = {o.person.username: o.role for o in orphan.ownerships.select_related("person")}
    assert owners == {"bob": OwnerRole.PRIMARY, "alice": OwnerRole.BACKUP}
    assert AuditEvent.objects.filter(action="claim.approve", identity_id=orphan.pk).count() == 1
    assert AuditEvent.objects.filter(action="identity.owners_set", identity_id=orphan.pk).count() == 1
    assert client_for(bob).get(f"/identities/{orphan.pk}/").status_code == 200  # bob now sees and changes it


def test_only_an_orphaned_identity_can_be_claimed(make_identity, alice, bob):
    owned = make_identity(alice)
    with pytest.raises(ValidationError) as refused:
        claim_create(actor=bob, identity=owned, reason="mine now")
    assert "identity" in refused.value.message_dict and not OwnershipClaim.objects.exists()


def test_an_offboarded_identity_cannot_be_claimed(make_identity, alice, bob):
    identity = make_identity(alice)
    identity_offboard(actor=alice, identity=identity, reason="retired")
    leave(alice)
    with pytest.raises(ValidationError):
        claim_create(actor=bob, identity=identity, reason="mine now")


def test_a_claim_needs_a_reason_and_one_waiting_claim_per_person(orphan, bob):
    with pytest.raises(ValidationError) as refused:
        claim_create(actor=bob, identity=orphan, reason=" ")
    assert "reason" in refused.value.message_dict
    claim_create(actor=bob, identity=orphan, reason="I took it over.")
    with pytest.raises(ValidationError):
        claim_create(actor=bob, identity=orphan, reason="again")
    assert OwnershipClaim.objects.count() == 1


def test_people_without_a_role_and_compliance_cannot_claim(orphan, charlie, carol):
    for person in (charlie, carol):
        with pytest.raises(PermissionDenied):
            claim_create(actor=person, identity=orphan, reason="mine")


def test_the_claimant_never_decides_their_own_claim(orphan, rosa, sam):
    own = claim_create(actor=rosa, identity=orphan, reason="My team runs it now.")
    with pytest.raises(PermissionDenied):
        claim_approve(actor=rosa, claim=own)
    assert claim_approve(actor=sam, claim=own).state == ClaimState.APPROVED


def test_owners_do_not_decide_claims(claim, dave):
    with pytest.raises(PermissionDenied):
        claim_approve(actor=dave, claim=claim)


def test_a_refusal_needs_a_reason(claim, rita):
    with pytest.raises(ValidationError):
        claim_reject(actor=rita, claim=claim, reason="")
    claim = claim_reject(actor=rita, claim=claim, reason="The ledger team says carol's team owns it.")
    assert claim.state == ClaimState.REJECTED and claim.decision_reason.startswith("The ledger team")
    with pytest.raises(ValidationError):
        claim_approve(actor=rita, claim=claim)


def test_approving_one_claim_ends_the_others_on_the_same_identity(claim, orphan, rita, sam):
    first = claim_create(actor=sam, identity=orphan, reason="Security will keep it until someone steps up.")
    claim_approve(actor=rita, claim=first)
    claim.refresh_from_db()
    assert claim.state == ClaimState.CANCELLED and claim.decision_reason == f"Claim #{first.pk} by sam was approved."


def test_a_rival_claimant_does_not_decide_the_competing_claim(claim, orphan, rosa, sam):
    claim_create(actor=rosa, identity=orphan, reason="My team runs it.")
    with pytest.raises(PermissionDenied):
        claim_reject(actor=rosa, claim=claim, reason="mine, not his")
    assert claim not in set(claim_list(user=rosa, view="waiting"))
    assert claim in set(claim_list(user=sam, view="waiting"))


def test_offboarding_ends_the_claims_that_wait(claim, orphan, sam):
    identity_offboard(actor=sam, identity=orphan, reason="No one runs it any more")
    claim.refresh_from_db()
    assert claim.state == ClaimState.CANCELLED and claim.decided_by_label == "sam"
    assert claim.decision_reason == "Identity offboarded: No one runs it any more"


def test_the_claimant_withdraws_and_no_one_else_may(claim, rita, bob):
    with pytest.raises(PermissionDenied):
        claim_cancel(actor=rita, claim=claim)
    assert claim_cancel(actor=bob, claim=claim, reason="wrong bot").state == ClaimState.CANCELLED
    assert AuditEvent.objects.filter(action="claim.cancel").count() == 1


# The pages


def test_an_owner_finds_the_orphan_and_claims_it_in_the_browser(orphan, bob, client_for):
    listing = client_for(bob).get("/claims/orphaned/").content.decode()
    assert orphan.name in listing and f"/identities/{orphan.pk}/claim/" in listing
    response = client_for(bob).post(f"/identities/{orphan.pk}/claim/", {"reason": "I took over the ledger team."})
    claim = OwnershipClaim.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/claims/{claim.pk}/"
    page = client_for(bob).get(f"/claims/{claim.pk}/").content.decode()
    assert "Waiting for a reviewer" in page and "not you: you claimed it" in page


def test_the_claim_form_shows_the_missing_reason_next_to_the_field(orphan, bob, client_for):
    response = client_for(bob).post(f"/identities/{orphan.pk}/claim/", {"reason": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    assert not OwnershipClaim.objects.exists()


def test_an_identity_that_is_not_orphaned_cannot_be_claimed_in_the_browser(make_identity, alice, bob, client_for):
    owned = make_identity(alice)
    assert client_for(bob).get(f"/identities/{owned.pk}/claim/").status_code == 404
    assert owned.name not in client_for(bob).get("/claims/orphaned/").content.decode()


def test_a_reviewer_decides_from_the_list_and_the_sidebar_counts_it(claim, rita, client_for):
    reviewer = client_for(rita)
    page = reviewer.get("/claims/").content.decode()
    assert f"/claims/{claim.pk}/" in page and 'title="waiting for your decision">1<' in page
    response = reviewer.post(f"/claims/{claim.pk}/", {"decision": "approve", "approve-reason": "checked"})
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.state == ClaimState.APPROVED


def test_a_refusal_without_a_reason_stays_on_the_page(claim, rita, client_for):
    response = client_for(rita).post(f"/claims/{claim.pk}/", {"decision": "reject", "reject-reason": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    claim.refresh_from_db()
    assert claim.state == ClaimState.PENDING


def test_outsiders_learn_nothing(claim, orphan, charlie, client_for):
    outsider = client_for(charlie)
    assert outsider.get("/claims/orphaned/").status_code == 403
    assert outsider.get(f"/claims/{claim.pk}/").status_code == 404
    assert outsider.post(f"/claims/{claim.pk}/", {"decision": "approve"}).status_code == 404
    assert outsider.get(f"/identities/{orphan.pk}/claim/").status_code == 403
    assert orphan.name not in outsider.get("/claims/").content.decode()


def test_another_owner_sees_neither_the_claim_nor_may_decide_it(claim, dave, client_for):
    assert client_for(dave).get(f"/claims/{claim.pk}/").status_code == 404


def test_compliance_reads_claims_but_neither_claims_nor_decides(claim, orphan, carol, client_for):
    reader = client_for(carol)
    assert reader.get(f"/claims/{claim.pk}/").status_code == 200
    assert reader.get("/claims/orphaned/").status_code == 200
    assert reader.get(f"/identities/{orphan.pk}/claim/").status_code == 403
    assert reader.post(f"/claims/{claim.pk}/", {"decision": "approve"}).status_code == 403


def test_the_claimant_is_refused_a_decision_and_withdraws_from_the_page(claim, bob, client_for):
    claimant = client_for(bob)
    assert claimant.post(f"/claims/{claim.pk}/", {"decision": "approve"}).status_code == 403
    assert claimant.post(f"/claims/{claim.pk}/", {"decision": "cancel"}).status_code == 302
    claim.refresh_from_db()
    assert claim.state == ClaimState.CANCELLED


def test_the_claim_forms_need_a_csrf_token(claim, orphan, rita):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(rita)
    assert strict.post(f"/claims/{claim.pk}/", {"decision": "approve"}).status_code == 403
    claim.refresh_from_db()
    assert claim.state == ClaimState.PENDING


def test_a_second_click_on_a_decided_claim_says_it_no_longer_waits(claim, rita, client_for):
    reviewer = client_for(rita)
    assert reviewer.post(f"/claims/{claim.pk}/", {"decision": "approve"}).status_code == 302
    again = reviewer.post(f"/claims/{claim.pk}/", {"decision": "reject", "reject-reason": "oops"})
    assert again.status_code == 400 and "This claim is approved; it no longer waits." in again.content.decode()


def test_each_change_writes_its_own_audit_events_and_no_others(audit_actions_during, orphan, bob, rita, sam):
    claim, actions = audit_actions_during(lambda: claim_create(actor=bob, identity=orphan, reason="I took it over."))
    assert actions == ["claim.create"]
    _, actions = audit_actions_during(lambda: claim_approve(actor=rita, claim=claim))
    assert actions == ["identity.owners_set", "claim.approve"]  # two changes: the owners, and the claim


def test_the_orphans_page_offers_the_claim_and_lists_the_claims_waiting(orphan, claim, rita, carol, sam, client_for):
    page = client_for(sam).get(f"/identities/{orphan.pk}/").content.decode()
    assert f'<a href="/identities/{orphan.pk}/claim/">Claim it</a>' in page
    assert f'Claims waiting: <a href="/claims/{claim.pk}/">bob</a>' in page
    # A reviewer or compliance person may not be made an owner: no claim is offered to them.
    for reader in (rita, carol):
        page = client_for(reader).get(f"/identities/{orphan.pk}/").content.decode()
        assert f"/identities/{orphan.pk}/claim/" not in page and f'Claims waiting: <a href="/claims/{claim.pk}/">bob</a>' in page
