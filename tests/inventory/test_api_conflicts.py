"""A state that refuses the action is a 409 with the reason as one string, on the inventory and
people APIs: a claim or an attestation decided already, a campaign closed, a person already
inactive. The pages keep showing the same reason next to their form."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.campaigns import campaign_close, campaign_launch
from inventory.claims import claim_approve, claim_create
from inventory.services import identity_activate, identity_attest
from inventory.attestation_reviews import attestation_confirm
from nhiportal.audit.models import AuditEvent
from nhiportal.people.services import person_deactivate

from tests.tokens.test_api_conflicts import assert_conflict, post


@pytest.fixture
def orphan(make_identity, charlie, alice):
    identity = make_identity(alice, name="ledger-bot")
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    return identity


def test_it_answers_409_to_approving_a_claim_approved_already(client_for, bob, rita, orphan):
    claim = claim_create(actor=bob, identity=orphan, reason="I run the ledger team's automation now.")
    claim_approve(actor=rita, claim=claim, reason="")
    assert_conflict(post(client_for(rita), f"claims/{claim.pk}/approve/"), "no longer waits")
    assert_conflict(post(client_for(rita), f"claims/{claim.pk}/reject/", {"reason": "no"}), "no longer waits")
    assert_conflict(post(client_for(bob), f"claims/{claim.pk}/cancel/"), "no longer waits")
    assert AuditEvent.objects.filter(action="claim.approve").count() == 1


def test_it_answers_409_to_closing_a_campaign_twice(client_for, rita, alice, make_identity):
    identity_activate(actor=alice, identity=make_identity(alice))
    campaign = campaign_launch(actor=rita, name="Q4", due=timezone.localdate() + timedelta(days=30))
    campaign_close(actor=rita, campaign=campaign)
    assert_conflict(post(client_for(rita), f"campaigns/{campaign.pk}/close/"), "already closed")
    assert_conflict(post(client_for(rita), f"campaigns/{campaign.pk}/stop-repeating/"), "does not repeat")


def test_it_answers_409_to_confirming_an_attestation_reviewed_already(client_for, rita, alice, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    attestation = identity_attest(actor=alice, identity=identity, note="Still needed.")
    attestation_confirm(actor=rita, attestation=attestation, reason="")
    assert_conflict(post(client_for(rita), f"attestations/{attestation.pk}/confirm/"), "no longer waits")
    assert_conflict(post(client_for(rita), f"attestations/{attestation.pk}/reject/", {"reason": "wrong"}), "no longer waits")


def test_it_answers_409_to_deactivating_someone_inactive_already(client_for, sam, bob):
    person_deactivate(person=bob, actor=sam, reason="Left.")
    assert_conflict(post(client_for(sam), f"people/{bob.pk}/deactivate/", {"reason": "Left."}), "already inactive")
