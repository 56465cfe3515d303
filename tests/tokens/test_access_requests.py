"""Access requests through the service functions: the two stages, who decides, and refusals."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from inventory.services import identity_offboard
from nhiportal.audit.models import AuditEvent
from tokens import selectors
from tokens.access_requests import (
    access_request_approve,
    access_request_cancel,
    access_request_create,
    access_request_reject,
)
from tokens.models import AccessRequest, AccessRequestState, Grant
from tokens.services import service_create, service_update

from .conftest import token_request


def ask(actor, identity, service, scopes=("tickets:read",), *, days=14, justification="Reads tickets to draft replies."):
    return access_request_create(
        actor=actor, identity=identity, service=service, scopes=list(scopes),
        ends_at=timezone.now() + timedelta(days=days), justification=justification,
    )


@pytest.fixture
def wiki(sam, bob):
    """A service bob owns: he decides its requests at the service stage."""
    return service_create(actor=sam, name="Wiki", audience="https://wiki.example.com", owner=bob, scopes=["pages:read", "pages:write"])


def test_an_owners_request_waits_for_the_service_reviewer(alice, agent, crm):
    request = ask(alice, agent.identity, crm)
    assert request.state == AccessRequestState.SERVICE_REVIEW
    assert request.owner_approved_by == alice and request.owner_approved_at is not None
    event = AuditEvent.objects.get(action="access_request.create")
    assert event.identity_id == agent.identity.pk and event.after["scopes"] == ["tickets:read"]


def test_the_service_stage_approval_grants_the_scopes_and_the_agent_gets_its_token(alice, rita, agent, crm, oauth):
    request = ask(alice, agent.identity, crm, days=10)
    assert token_request(oauth, agent).status_code == 400  # nothing granted yet

    request = access_request_approve(actor=rita, access_request=request, reason="Least privilege: read only.")

    assert request.state == AccessRequestState.APPROVED and request.decided_by == rita
    grant = Grant.objects.get(identity=agent.identity)
    assert grant.scopes == ["tickets:read"] and grant.ends_at == request.ends_at and grant.granted_by == rita
    assert request.grant == grant and f"Access request #{request.pk}" in grant.justification
    assert AuditEvent.objects.filter(action="access_request.approve", object_id=str(request.pk)).count() == 1
    assert AuditEvent.objects.filter(action="grant.create", identity_id=agent.identity.pk).count() == 1
    assert token_request(oauth, agent).status_code == 200


def test_a_request_by_someone_who_does_not_own_the_identity_waits_for_an_owner_first(alice, bob, sam, rita, agent, crm):
    request = ask(sam, agent.identity, crm)
    assert request.state == AccessRequestState.OWNER_REVIEW and request.owner_approved_by is None

    with pytest.raises(PermissionDenied):
        access_request_approve(actor=bob, access_request=request)  # owns nothing of it
    with pytest.raises(PermissionDenied):
        access_request_approve(actor=rita, access_request=request)  # reviewers decide the second stage, not the first
    request = access_request_approve(actor=alice, access_request=request)
    assert request.state == AccessRequestState.SERVICE_REVIEW and request.owner_approved_by == alice
    assert not Grant.objects.exists()

    with pytest.raises(PermissionDenied):
        access_request_approve(actor=sam, access_request=request)  # the requester, security admin or not
    assert access_request_approve(actor=rita, access_request=request).state == AccessRequestState.APPROVED


def test_the_requester_never_decides_their_own_request(alice, agent, crm):
    request = ask(alice, agent.identity, crm)
    with pytest.raises(PermissionDenied):
        access_request_approve(actor=alice, access_request=request)
    with pytest.raises(PermissionDenied):
        access_request_reject(actor=alice, access_request=request, reason="changed my mind")
    request.refresh_from_db()
    assert request.state == AccessRequestState.SERVICE_REVIEW and not Grant.objects.exists()


def test_the_service_owner_decides_and_an_owner_of_the_identity_may_not(alice, bob, make_agent, wiki):
    shared = make_agent(alice, backups=[bob])
    request = ask(alice, shared.identity, wiki, ["pages:read"])
    with pytest.raises(PermissionDenied):
        access_request_approve(actor=bob, access_request=request)  # owns the service, but also the identity

    own = make_agent(alice)
    request = ask(alice, own.identity, wiki, ["pages:read"])
    assert access_request_approve(actor=bob, access_request=request).state == AccessRequestState.APPROVED


def test_a_refusal_needs_a_reason_and_ends_the_request(alice, rita, agent, crm):
    request = ask(alice, agent.identity, crm)
    with pytest.raises(ValidationError) as refused:
        access_request_reject(actor=rita, access_request=request, reason="  ")
    assert "reason" in refused.value.message_dict

    request = access_request_reject(actor=rita, access_request=request, reason="Use the read-only export instead.")
    assert request.state == AccessRequestState.REJECTED and request.decision_reason == "Use the read-only export instead."
    assert request.decided_by_label == "rita" and not Grant.objects.exists()
    with pytest.raises(ValidationError):
        access_request_approve(actor=rita, access_request=request)  # no longer waits
    assert AuditEvent.objects.filter(action="access_request.reject").count() == 1


@pytest.mark.parametrize(
    "change, field",
    [
        ({"scopes": ["tickets:delete"]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"days": -1}, "ends_at"),
        ({"days": 91}, "ends_at"),
        ({"justification": "   "}, "justification"),
    ],
)
def test_bad_requests_are_refused_next_to_the_field_and_write_nothing(alice, agent, crm, change, field):
    kwargs = {"scopes": ["tickets:read"], "days": 14, "justification": "Reads tickets."}
    kwargs.update(change)
    with pytest.raises(ValidationError) as refused:
        ask(alice, agent.identity, crm, kwargs.pop("scopes"), **kwargs)
    assert field in refused.value.message_dict
    assert not AccessRequest.objects.exists() and not AuditEvent.objects.filter(action__startswith="access_request").exists()


def test_an_inactive_service_or_an_offboarded_identity_cannot_be_asked_for(alice, sam, make_agent, crm):
    service_update(actor=sam, service=crm, is_active=False)
    with pytest.raises(ValidationError) as refused:
        ask(alice, make_agent(alice).identity, crm)
    assert "service" in refused.value.message_dict

    gone = make_agent(alice)
    identity_offboard(actor=alice, identity=gone.identity, reason="retired")
    with pytest.raises(ValidationError) as refused:
        ask(alice, gone.identity, crm)
    assert refused.value.message_dict["identity"] == ["An offboarded identity cannot ask for access."]
    assert not AccessRequest.objects.exists()


def test_people_who_may_not_change_the_identity_cannot_ask_for_it(charlie, carol, rita, agent, crm):
    for person in (charlie, carol, rita):
        with pytest.raises(PermissionDenied):
            ask(person, agent.identity, crm)
    assert not AccessRequest.objects.exists()


def test_a_second_waiting_request_for_the_same_service_is_refused(alice, agent, crm):
    first = ask(alice, agent.identity, crm)
    with pytest.raises(ValidationError) as refused:
        ask(alice, agent.identity, crm, ["tickets:write"])
    assert f"#{first.pk}" in refused.value.message_dict["service"][0]


def test_the_requester_or_a_security_admin_cancels_a_waiting_request(alice, bob, sam, make_agent, crm):
    agent = make_agent(alice, backups=[bob])
    request = ask(alice, agent.identity, crm)
    with pytest.raises(PermissionDenied):
        access_request_cancel(actor=bob, access_request=request)
    request = access_request_cancel(actor=alice, access_request=request, reason="Asked for the wrong scope")
    assert request.state == AccessRequestState.CANCELLED and request.decided_by == alice
    with pytest.raises(ValidationError):
        access_request_cancel(actor=alice, access_request=request)

    again = ask(alice, agent.identity, crm)
    assert access_request_cancel(actor=sam, access_request=again).state == AccessRequestState.CANCELLED
    assert AuditEvent.objects.filter(action="access_request.cancel").count() == 2


def test_offboarding_the_identity_cancels_what_still_waits(alice, agent, crm):
    request = ask(alice, agent.identity, crm)
    identity_offboard(actor=alice, identity=agent.identity, reason="project ended")
    request.refresh_from_db()
    assert request.state == AccessRequestState.CANCELLED and "offboarded" in request.decision_reason.lower()


def test_approval_checks_the_service_again_and_refuses_a_withdrawn_scope(alice, rita, sam, agent, crm):
    request = ask(alice, agent.identity, crm, ["tickets:write"])
    service_update(actor=sam, service=crm, scopes=[{"name": "tickets:read", "description": "Read tickets"}])
    with pytest.raises(ValidationError) as refused:
        access_request_approve(actor=rita, access_request=request)
    assert "scopes" in refused.value.message_dict
    request.refresh_from_db()
    assert request.state == AccessRequestState.SERVICE_REVIEW and not Grant.objects.exists()


def test_waiting_for_me_lists_exactly_what_each_person_decides(alice, bob, sam, rita, carol, charlie, make_agent, crm, wiki):
    at_owner_stage = ask(sam, make_agent(alice, backups=[bob]).identity, crm)
    at_service_stage = ask(alice, make_agent(alice).identity, wiki, ["pages:read"])

    def waiting(person):
        return set(selectors.access_requests_waiting_for(person))

    assert waiting(alice) == {at_owner_stage}  # owns the first's identity; asked the second
    assert waiting(bob) == {at_owner_stage, at_service_stage}  # backup owner of the first; owns the wiki
    assert waiting(rita) == {at_service_stage}
    assert waiting(sam) == {at_service_stage}  # asked the first
    assert waiting(carol) == waiting(charlie) == set()


def test_an_identity_with_no_active_owner_must_be_claimed_before_anyone_asks_for_it(alice, sam, agent, crm):
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    with pytest.raises(ValidationError) as refused:
        ask(sam, agent.identity, crm)
    assert "claimed first" in refused.value.message_dict["identity"][0]


def test_each_change_writes_its_own_audit_events_and_no_others(audit_actions_during, alice, bob, sam, rita, make_agent, crm):
    agent = make_agent(alice, backups=[bob])
    request, actions = audit_actions_during(lambda: ask(sam, agent.identity, crm))
    assert actions == ["access_request.create"]
    _, actions = audit_actions_during(lambda: access_request_approve(actor=alice, access_request=request))
    assert actions == ["access_request.approve"]  # the owner stage changes the request alone
    _, actions = audit_actions_during(lambda: access_request_approve(actor=rita, access_request=request))
    assert actions == ["grant.create", "access_request.approve"]  # two changes: a grant, and the request
    other = ask(alice, make_agent(alice).identity, crm)
    _, actions = audit_actions_during(lambda: access_request_reject(actor=rita, access_request=other, reason="no"))
    assert actions == ["access_request.reject"]
