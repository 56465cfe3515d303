"""Two people deciding the same thing at the same moment (two reviewers, a double click, the
requester withdrawing as a reviewer approves): one decision is made, with its one audit event
and its one effect; the other person is told it no longer waits, never shown a server error."""

from datetime import timedelta

import pytest
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from nhiportal.people.roles import REVIEWER, SECURITY_ADMIN
from tests.at_once import at_once
from tests.conftest import _person
from tokens.access_requests import access_request_create
from tokens.access_reviews import access_review_launch
from tokens.exposures import exposure_report_credential
from tokens.keys import active_signer
from tokens.models import (
    AccessRequest, AccessRequestState, AccessReviewItem, Exposure, Grant, KeyState, SigningKey, Task, WorkloadCredential,
)

from .conftest import token_request

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROUNDS = 6
EXPORT = "customers:export"



@pytest.fixture
def rex(db):
    """A second reviewer."""
    return _person("rex", REVIEWER)


@pytest.fixture
def sue(db):
    """A second security admin."""
    return _person("sue", SECURITY_ADMIN)


def events(action, obj) -> int:
    return AuditEvent.objects.filter(action=action, object_id=str(obj.pk)).count()


def _ask(actor, agent, crm) -> AccessRequest:
    return access_request_create(
        actor=actor, identity=agent.identity, service=crm, scopes=["tickets:read"],
        ends_at=timezone.now() + timedelta(days=7), justification="Drafts replies to open tickets.",
    )


def test_two_reviewers_approving_the_service_stage_at_once_make_one_grant(alice, rita, sam, agent, crm):
    for _ in range(ROUNDS):
        waiting = _ask(alice, agent, crm)
        url = f"/access-requests/{waiting.pk}/"
        statuses = at_once((rita, url, {"decision": "approve"}), (sam, url, {"decision": "approve"}))
        assert sorted(statuses) == [302, 400]
        assert AccessRequest.objects.get(pk=waiting.pk).state == AccessRequestState.APPROVED
        assert Grant.objects.filter(access_request=waiting).count() == 1
        assert events("access_request.approve", waiting) == 1


def test_two_owners_approving_the_owner_stage_at_once_move_it_on_once(make_agent, alice, bob, sam, crm):
    agent = make_agent(alice, backups=[bob])
    for _ in range(ROUNDS):
        waiting = _ask(sam, agent, crm)  # a security admin asks: an owner vouches first
        url = f"/access-requests/{waiting.pk}/"
        vouch = {"decision": "approve", "stage": "owner"}  # as the page posts it
        statuses = at_once((alice, url, vouch), (bob, url, vouch))
        assert sorted(statuses) == [302, 400]
        assert AccessRequest.objects.get(pk=waiting.pk).state == AccessRequestState.SERVICE_REVIEW
        assert events("access_request.approve", waiting) == 1
        AccessRequest.objects.filter(pk=waiting.pk).update(state=AccessRequestState.CANCELLED)  # make room for the next round


def test_approve_reject_and_cancel_at_once_end_the_request_one_way(alice, rita, sam, agent, crm):
    for _ in range(ROUNDS):
        waiting = _ask(alice, agent, crm)
        url = f"/access-requests/{waiting.pk}/"
        statuses = at_once(
            (rita, url, {"decision": "approve"}),
            (sam, url, {"decision": "reject", "reject-reason": "Not this quarter."}),
            (alice, url, {"decision": "cancel", "cancel-reason": "Asked for the wrong scope."}),
        )
        assert sorted(statuses) == [302, 400, 400]
        state = AccessRequest.objects.get(pk=waiting.pk).state
        winner = {AccessRequestState.APPROVED: "approve", AccessRequestState.REJECTED: "reject", AccessRequestState.CANCELLED: "cancel"}[state]
        assert statuses[["approve", "reject", "cancel"].index(winner)] == 302
        assert Grant.objects.filter(access_request=waiting).count() == (1 if winner == "approve" else 0)
        decided = [a for a in ("approve", "reject", "cancel") if events(f"access_request.{a}", waiting)]
        assert decided == [winner] and events(f"access_request.{winner}", waiting) == 1


def _pending_task(make_agent, crm, grant, oauth, alice) -> Task:
    agent = make_agent(alice, autonomy="autonomous")
    grant(agent, crm, [EXPORT])
    response = token_request(oauth, agent, scope=EXPORT)
    assert response.json()["error"] == "authorization_pending"
    return Task.objects.get(pk=response.json()["task_id"])


def test_approving_and_refusing_a_task_at_once_decides_it_once(make_agent, crm, grant, oauth, alice, rita, sam):
    for _ in range(ROUNDS):
        task = _pending_task(make_agent, crm, grant, oauth, alice)
        url = f"/approvals/{task.pk}/"
        statuses = at_once(
            (rita, url, {"decision": "approve", "approve-minutes": "30"}),
            (sam, url, {"decision": "reject", "reject-reason": "Not without legal."}),
        )
        assert sorted(statuses) == [302, 400]
        task.refresh_from_db()
        assert task.approval_state == ("approved" if statuses[0] == 302 else "rejected")
        assert events("task.approve", task) + events("task.reject", task) == 1


def test_confirming_and_dismissing_an_exposure_at_once_decides_it_once(make_agent, alice, sam, sue):
    for _ in range(ROUNDS):
        agent = make_agent(alice)
        credential = WorkloadCredential.objects.get(kid=agent.kid)
        exposure = exposure_report_credential(actor=alice, credential=credential, where_found="a public gist")
        url = f"/exposures/{exposure.pk}/"
        statuses = at_once(
            (sam, url, {"decision": "confirm", "reason": "The gist is ours."}),
            (sue, url, {"decision": "dismiss", "reason": "A test key."}),
        )
        assert sorted(statuses) == [302, 400]
        exposure = Exposure.objects.get(pk=exposure.pk)
        assert (exposure.confirmed_at is None) != (exposure.dismissed_at is None)
        assert events("exposure.confirm", exposure) + events("exposure.dismiss", exposure) == 1
        agent.identity.refresh_from_db()
        assert (agent.identity.status == "suspended") == (exposure.confirmed_at is not None)


def test_two_admins_rotating_at_once_promote_the_published_keys_in_turn(sam, sue):
    active_signer()  # the first key, and the next one published beside it
    for _ in range(ROUNDS):
        published = set(SigningKey.objects.filter(state=KeyState.NEXT).values_list("kid", flat=True))
        statuses = at_once((sam, "/keys/rotate/", {"alg": "ES256"}), (sue, "/keys/rotate/", {"alg": "ES256"}))
        assert statuses == [302, 302]
        assert SigningKey.objects.filter(state=KeyState.ACTIVE).count() == 1
        assert SigningKey.objects.filter(state=KeyState.NEXT).count() == 1
        # Each rotation promoted a key verifiers already held: the one published before, or
        # the one the other rotation published.
        rotations = AuditEvent.objects.filter(action="signing_key.rotate").order_by("-pk")[:2]
        held = published | {event.after["next"] for event in rotations}
        assert {event.after["active"] for event in rotations} <= held


def _review_of(grants, *, sam, revoke_unreviewed=False):
    review = access_review_launch(actor=sam, name="Q4 CRM access", due=timezone.localdate() + timedelta(days=14), revoke_unreviewed=revoke_unreviewed)
    return review, {item.grant_id: item for item in AccessReviewItem.objects.filter(review=review, grant__in=grants)}


def test_keeping_and_revoking_the_same_grant_at_once_decides_it_once(agent, crm, grant, sam, rita, rex):
    for _ in range(ROUNDS):
        given = grant(agent, crm, ["tickets:read"])
        review, items = _review_of([given], sam=sam)
        url = f"/access-reviews/{review.pk}/items/{items[given.pk].pk}/decide/"
        statuses = at_once((rita, url, {"decision": "keep"}), (rex, url, {"decision": "revoke", "reason": "Project ended."}))
        assert statuses == [302, 302]  # the page says which won, as a message
        item = AccessReviewItem.objects.get(pk=items[given.pk].pk)
        assert item.decision in ("keep", "revoke")
        assert (Grant.objects.get(pk=given.pk).revoked_at is None) == (item.decision == "keep")
        assert events("access_review.decide", review) == 1


def test_closing_a_round_while_a_grant_is_kept_leaves_each_grant_as_decided(make_agent, crm, grant, sam, rita):
    """The round revokes what nobody kept: a grant kept as it closes is either kept (the close
    sees the decision) or refused as closed and revoked, never kept and then revoked."""
    for _ in range(ROUNDS):
        given = [grant(make_agent(), crm, ["tickets:read"]) for _ in range(3)]
        review, items = _review_of(given, sam=sam, revoke_unreviewed=True)
        kept = items[given[1].pk]
        statuses = at_once(
            (rita, f"/access-reviews/{review.pk}/items/{kept.pk}/decide/", {"decision": "keep"}),
            (sam, f"/access-reviews/{review.pk}/close/", {}),
        )
        assert statuses == [302, 302]
        review.refresh_from_db()
        assert review.closed_at is not None
        for item in AccessReviewItem.objects.filter(review=review).select_related("grant"):
            assert item.decision in ("keep", "revoke")
            assert (item.grant.revoked_at is None) == (item.decision == "keep")
            assert item.decided_at <= review.closed_at
        decisions = events("access_review.decide", review)
        assert decisions == AccessReviewItem.objects.filter(review=review, decided_by_label="rita").count() <= 1
