"""The request page's stages say how each stage ended: a stage after the one that refused,
cancelled or let the request expire was not needed, rather than "not reached"."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.services import identity_offboard
from nhiportal.audit.services import system_actor
from tokens.access_requests import access_request_approve, access_request_cancel, access_request_create, access_request_reject, access_requests_lapse

pytestmark = pytest.mark.django_db


def ask(actor, agent, crm, *, days=14):
    return access_request_create(
        actor=actor, identity=agent.identity, service=crm, scopes=["tickets:read"],
        ends_at=timezone.now() + timedelta(days=days), justification="Reads tickets to draft replies.",
    )


def stages(client, request) -> list[str]:
    """Each stage's line on the request's page, as a person reads it."""
    page = client.get(f"/access-requests/{request.pk}/")
    assert page.status_code == 200
    listed = re.search(r'<ol class="stages">(.*?)</ol>', page.content.decode(), re.S).group(1)
    return [" ".join(re.sub(r"<[^>]+>", "", item).split()).replace("&#x27;", "'") for item in re.findall(r"<li>(.*?)</li>", listed, re.S)]


def expire(request):
    access_requests_lapse(actor=system_actor("notify_access_requests"), now=request.ends_at + timedelta(minutes=1))


def test_refused_by_the_owner_the_service_stage_was_not_needed(client_for, alice, sam, agent, crm):
    request = access_request_reject(actor=alice, access_request=ask(sam, agent, crm), reason="It has no use for tickets.")

    owner, service = stages(client_for(sam), request)

    assert owner.startswith("Identity owner: refused by alice, ")
    assert service == "Service reviewer: not needed (refused at the owner stage)"


def test_refused_by_the_service_reviewer_after_the_owner_vouched(client_for, alice, rita, agent, crm):
    request = access_request_reject(actor=rita, access_request=ask(alice, agent, crm), reason="Read the export instead.")

    owner, service = stages(client_for(rita), request)

    assert owner.startswith("Identity owner: vouched by alice (the owner who asked), ")
    assert service.startswith("Service reviewer: refused by rita, ")
    assert "not needed" not in service and "not reached" not in service


def test_cancelled_while_waiting_for_an_owner(client_for, sam, agent, crm):
    request = access_request_cancel(actor=sam, access_request=ask(sam, agent, crm))

    assert stages(client_for(sam), request) == [
        "Identity owner: cancelled while it waited here",
        "Service reviewer: not needed (cancelled at the owner stage)",
    ]


def test_cancelled_while_waiting_for_the_service_reviewer(client_for, alice, agent, crm):
    request = access_request_cancel(actor=alice, access_request=ask(alice, agent, crm))

    owner, service = stages(client_for(alice), request)

    assert owner.startswith("Identity owner: vouched by alice")
    assert service == "Service reviewer: cancelled while it waited here"


def test_cancelled_by_offboarding_the_identity(client_for, alice, sam, agent, crm):
    request = ask(sam, agent, crm)
    identity_offboard(actor=alice, identity=agent.identity, reason="project ended")
    request.refresh_from_db()

    assert stages(client_for(sam), request) == [
        "Identity owner: cancelled while it waited here",
        "Service reviewer: not needed (cancelled at the owner stage)",
    ]


def test_expired_at_the_owner_stage(client_for, sam, agent, crm):
    request = ask(sam, agent, crm, days=2)
    expire(request)
    request.refresh_from_db()

    assert stages(client_for(sam), request) == [
        "Identity owner: expired while it waited here: its end date passed undecided",
        "Service reviewer: not needed (expired at the owner stage)",
    ]


def test_expired_at_the_service_stage(client_for, alice, sam, agent, crm):
    request = access_request_approve(actor=alice, access_request=ask(sam, agent, crm, days=2))
    expire(request)
    request.refresh_from_db()

    owner, service = stages(client_for(sam), request)

    assert owner.startswith("Identity owner: vouched by alice, ")
    assert service == "Service reviewer: expired while it waited here: its end date passed undecided"


def test_a_request_still_at_the_owner_stage_has_not_reached_the_service(client_for, sam, agent, crm):
    request = ask(sam, agent, crm)

    owner, service = stages(client_for(sam), request)

    assert owner.startswith("Identity owner: waiting for an owner")
    assert service == "Service reviewer: not reached"


def test_an_approved_request_reads_as_before(client_for, alice, rita, agent, crm):
    request = access_request_approve(actor=rita, access_request=ask(alice, agent, crm))

    owner, service = stages(client_for(rita), request)

    assert owner.startswith("Identity owner: vouched by alice")
    assert service.startswith("Service reviewer: approved by rita, ")
