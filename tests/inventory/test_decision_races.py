"""Two people acting on the same identity at the same moment: claims, attestations and their
reviews, and names. One decision is made, with its one audit event; the other person is told
it no longer waits (or the name is taken), never shown a server error."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.attestation_reviews import REVIEWED
from inventory.campaigns import campaign_launch
from inventory.claims import claim_create
from inventory.models import AIIdentity, Attestation, AttestationReview, CampaignItem, ClaimState, OwnershipClaim, OwnerRole
from inventory.services import identity_activate, identity_attest
from nhiportal.audit.models import AuditEvent
from nhiportal.people.roles import OWNER
from tests.at_once import at_once
from tests.conftest import _person

from .test_views_register import REGISTER, form_data

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROUNDS = 6



@pytest.fixture
def dave(db):
    """Another owner, who claims too."""
    return _person("dave", OWNER)


def events(action, obj) -> int:
    return AuditEvent.objects.filter(action=action, object_id=str(obj.pk)).count()


def _orphan(make_identity, former):
    """An identity whose only owner has left."""
    identity = make_identity(former)
    type(former).objects.filter(pk=former.pk).update(is_active=False)
    return identity


def _former_owner(n):
    return _person(f"leaver-{n}", OWNER)


def test_two_reviewers_approving_one_claim_at_once_make_one_primary_owner(make_identity, bob, rita, sam):
    for n in range(ROUNDS):
        orphan = _orphan(make_identity, _former_owner(n))
        claim = claim_create(actor=bob, identity=orphan, reason="I took over the ledger team.")
        url = f"/claims/{claim.pk}/"
        statuses = at_once((rita, url, {"decision": "approve"}), (sam, url, {"decision": "approve"}))
        assert sorted(statuses) == [302, 400]
        assert OwnershipClaim.objects.get(pk=claim.pk).state == ClaimState.APPROVED
        assert orphan.ownerships.get(person=bob).role == OwnerRole.PRIMARY
        assert events("claim.approve", claim) == 1
        assert AuditEvent.objects.filter(action="identity.owners_set", identity_id=orphan.pk).count() == 1


def test_approving_refusing_and_withdrawing_a_claim_at_once_end_it_one_way(make_identity, bob, rita, sam):
    for n in range(ROUNDS):
        orphan = _orphan(make_identity, _former_owner(n))
        claim = claim_create(actor=bob, identity=orphan, reason="I took over the ledger team.")
        url = f"/claims/{claim.pk}/"
        statuses = at_once(
            (rita, url, {"decision": "approve"}),
            (sam, url, {"decision": "reject", "reject-reason": "Ask the ledger lead first."}),
            (bob, url, {"decision": "cancel"}),
        )
        assert sorted(statuses) == [302, 400, 400]
        state = OwnershipClaim.objects.get(pk=claim.pk).state
        winner = {ClaimState.APPROVED: "approve", ClaimState.REJECTED: "reject", ClaimState.CANCELLED: "cancel"}[state]
        assert statuses[["approve", "reject", "cancel"].index(winner)] == 302
        assert orphan.ownerships.filter(person=bob).exists() == (winner == "approve")
        assert [a for a in ("approve", "reject", "cancel") if events(f"claim.{a}", claim)] == [winner]


def test_approving_two_rival_claims_at_once_gives_the_identity_one_new_owner(make_identity, bob, dave, rita, sam):
    for n in range(ROUNDS):
        orphan = _orphan(make_identity, _former_owner(n))
        bobs = claim_create(actor=bob, identity=orphan, reason="I took over the ledger team.")
        daves = claim_create(actor=dave, identity=orphan, reason="The ledger bot is mine now.")
        statuses = at_once((rita, f"/claims/{bobs.pk}/", {"decision": "approve"}), (sam, f"/claims/{daves.pk}/", {"decision": "approve"}))
        assert sorted(statuses) == [302, 400]
        assert OwnershipClaim.objects.filter(identity=orphan, state=ClaimState.APPROVED).count() == 1
        assert orphan.ownerships.filter(person__in=[bob, dave]).count() == 1
        assert orphan.ownerships.filter(role=OwnerRole.PRIMARY).count() == 1


def test_claiming_one_orphan_twice_at_once_makes_one_claim_each(make_identity, bob, dave):
    """One claim waits per person and identity (a double click makes one); rivals each get theirs."""
    for n in range(ROUNDS):
        orphan = _orphan(make_identity, _former_owner(n))
        url = f"/identities/{orphan.pk}/claim/"
        data = {"reason": "I took over the ledger team."}
        statuses = at_once((bob, url, data), (bob, url, data), (dave, url, data))
        assert sorted(statuses) == [302, 302, 400]
        waiting = OwnershipClaim.objects.filter(identity=orphan, state=ClaimState.PENDING)
        assert sorted(waiting.values_list("claimant__username", flat=True)) == ["bob", "dave"]
        assert AuditEvent.objects.filter(action="claim.create", identity_id=orphan.pk).count() == 2


def _attested(make_identity, alice):
    identity = identity_activate(actor=alice, identity=make_identity(alice), reason="go-live")
    return identity_attest(actor=alice, identity=identity, note="Still summarises the CRM every night.")


def test_confirming_and_rejecting_an_attestation_at_once_reviews_it_once(make_identity, alice, rita, sam):
    for _ in range(ROUNDS):
        attestation = _attested(make_identity, alice)
        url = f"/attestations/{attestation.pk}/"
        statuses = at_once(
            (rita, url, {"decision": "approve"}),
            (sam, url, {"decision": "reject", "reject-reason": "It reads customer data it does not need."}),
        )
        assert sorted(statuses) == [302, 400]
        review = Attestation.objects.get(pk=attestation.pk).review
        assert review in REVIEWED
        assert review == (AttestationReview.CONFIRMED if statuses[0] == 302 else AttestationReview.REJECTED)
        assert events("attestation.confirm", attestation) + events("attestation.reject", attestation) == 1
        identity = AIIdentity.objects.get(pk=attestation.identity_id)
        assert (identity.attestation_due == timezone.localdate()) == (review == AttestationReview.REJECTED)


def test_two_owners_attesting_in_a_campaign_at_once_leave_one_attestation_waiting(make_identity, alice, bob, rita):
    """Each attests (both are recorded); the later stands in place of the earlier, so one waits
    for a reviewer and the campaign's item is answered once."""
    for _ in range(ROUNDS):
        identity = identity_activate(actor=alice, identity=make_identity(alice, backups=[bob]), reason="go-live")
        campaign = campaign_launch(actor=rita, name="Q4 agents", due=timezone.localdate() + timedelta(days=14))
        url = f"/identities/{identity.pk}/attest/"
        statuses = at_once((alice, url, {"note": "Still needed."}), (bob, url, {"note": "Still needed, same scope."}))
        assert statuses == [302, 302]
        attestations = Attestation.objects.filter(identity=identity)
        assert attestations.count() == 2
        assert attestations.filter(review=AttestationReview.PENDING).count() == 1
        assert attestations.filter(review=AttestationReview.SUPERSEDED).count() == 1
        item = CampaignItem.objects.get(campaign=campaign, identity=identity)
        assert item.attestation_id in set(attestations.values_list("pk", flat=True))
        assert AuditEvent.objects.filter(action="identity.attest", identity_id=identity.pk).count() == 2


def test_two_registrations_of_one_name_at_once_register_one_and_say_the_name_is_taken(alice, bob):
    for n in range(ROUNDS):
        data = form_data(name=f"ticket-summariser-{n}")
        statuses = at_once((alice, REGISTER, data), (bob, REGISTER, data))
        assert sorted(statuses) == [302, 400]
        assert AIIdentity.objects.filter(name=f"ticket-summariser-{n}").count() == 1


def test_two_reviewers_confirming_the_same_list_at_once_confirm_each_once(make_identity, alice, rita, sam):
    for _ in range(ROUNDS):
        waiting = [_attested(make_identity, alice) for _ in range(4)]
        data = {"attestation": [a.pk for a in waiting], "reason": "Campaign Q4"}
        statuses = at_once((rita, "/attestations/confirm/", data), (sam, "/attestations/confirm/", data))
        assert statuses == [302, 302]
        assert Attestation.objects.filter(pk__in=[a.pk for a in waiting], review=AttestationReview.CONFIRMED).count() == 4
        assert sum(events("attestation.confirm", a) for a in waiting) == 4


def test_closing_a_campaign_as_an_owner_attests_records_what_was_answered(make_identity, alice, rita):
    """The attestation either answers the campaign before it closes (and the close counts it),
    or comes after and leaves the closed campaign as it was: never answered after the count."""
    for _ in range(ROUNDS):
        identity = identity_activate(actor=alice, identity=make_identity(alice), reason="go-live")
        campaign = campaign_launch(actor=rita, name="Q4 agents", due=timezone.localdate() + timedelta(days=14))
        statuses = at_once(
            (alice, f"/identities/{identity.pk}/attest/", {"note": "Still needed."}),
            (rita, f"/campaigns/{campaign.pk}/close/", {}),
        )
        assert statuses == [302, 302]
        closed = AuditEvent.objects.get(action="campaign.close", object_id=str(campaign.pk))
        answered = CampaignItem.objects.filter(campaign=campaign, attestation__isnull=False)
        assert closed.after["attested"] == answered.count()
