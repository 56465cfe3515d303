"""Access requests through the API: who asks, who decides each stage, what approval makes, 4xx with reasons."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from nhiportal.audit.models import AuditEvent
from nhiportal.conf import nhi_setting
from tokens.models import AccessRequest, Grant
from tokens.services import service_create

from .conftest import CRM

LIST = "/api/v1/access-requests/"
WIKI = "https://wiki.example.com"


def api(client_for, user):
    client = client_for(user)

    def call(method, url, data=None):
        return getattr(client, method)(f"{LIST}{url}", data, content_type="application/json")

    return call


def in_days(days):
    # Whole seconds: what is sent can be compared with what is stored on every database.
    return (timezone.now() + timedelta(days=days)).replace(microsecond=0)


def asking(identity, service, /, *, scopes=("pages:read",), days=14, justification="Reads the runbooks it follows.", **changes):
    return {
        "identity": str(identity.pk), "service": service.pk, "scopes": list(scopes),
        "ends_at": in_days(days).isoformat(), "justification": justification, **changes,
    }


@pytest.fixture
def wiki(sam, bob):
    """A service bob owns (no role beyond owner): he decides its requests at the service stage."""
    return service_create(actor=sam, name="Wiki", audience=WIKI, owner=bob, trust_boundary="corp-internal", scopes=["pages:read", "pages:write"])


@pytest.fixture
def identity(make_identity, alice):
    return make_identity(alice)


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_an_owner_asks_and_the_service_owner_approves_which_grants(client_for, alice, bob, identity, wiki):
    ends_at = in_days(30)
    created = api(client_for, alice)("post", "", asking(identity, wiki, scopes=["pages:write", "pages:read"], ends_at=ends_at.isoformat()))
    assert created.status_code == 201, created.content
    body = created.json()
    # The owner's asking is the owner stage's approval: it waits for the service's reviewer.
    assert body["state"] == "service_review" and body["stage"] == "service"
    assert body["owner_approved_by"] == "alice" and body["owner_approved_at"] is not None
    assert body["requested_by"] == "alice" and body["identity_name"] == identity.name
    assert body["service_audience"] == WIKI and body["scopes"] == ["pages:read", "pages:write"]
    assert body["grant"] is None and body["decided_by"] == "" and body["decided_at"] is None

    approved = api(client_for, bob)("post", f"{body['id']}/approve/", {"reason": "Runbooks are not secret."})

    assert approved.status_code == 200, approved.content
    after = approved.json()
    assert after["state"] == "approved" and after["stage"] is None
    assert after["decided_by"] == "bob" and after["decision_reason"] == "Runbooks are not secret."
    grant = Grant.objects.get(identity=identity, service=wiki)
    assert after["grant"] == grant.pk
    assert grant.scopes == ["pages:read", "pages:write"] and grant.ends_at == ends_at and grant.granted_by == bob
    assert AuditEvent.objects.filter(action="access_request.approve", object_id=str(body["id"]), actor=bob).count() == 1


def test_a_security_admins_request_waits_for_an_owner_and_then_the_service_stage(client_for, alice, sam, rita, identity, crm):
    created = api(client_for, sam)("post", "", asking(identity, crm, scopes=["tickets:read"]))
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["state"] == "owner_review" and created.json()["stage"] == "owner"
    assert created.json()["owner_approved_by"] is None

    # sam asked, and owns the CRM: he decides neither stage of his own request.
    assert api(client_for, sam)("post", f"{pk}/approve/", {}).status_code == 403
    vouched = api(client_for, alice)("post", f"{pk}/approve/", {})
    assert vouched.status_code == 200, vouched.content
    assert vouched.json()["state"] == "service_review" and vouched.json()["owner_approved_by"] == "alice"
    assert not Grant.objects.exists()
    assert api(client_for, sam)("post", f"{pk}/approve/", {}).status_code == 403

    approved = api(client_for, rita)("post", f"{pk}/approve/", {})
    assert approved.status_code == 200, approved.content
    assert approved.json()["state"] == "approved" and approved.json()["decided_by"] == "rita"
    grant = Grant.objects.get(pk=approved.json()["grant"])
    assert grant.identity_id == identity.pk and grant.service.audience == CRM and grant.scopes == ["tickets:read"]
    assert AuditEvent.objects.filter(action="access_request.approve", object_id=str(pk)).count() == 2  # one per stage


def test_the_requester_never_approves_their_own_request(client_for, sam, make_identity, crm):
    own = make_identity(sam)  # sam owns the identity and the service, and is a security admin
    pk = api(client_for, sam)("post", "", asking(own, crm, scopes=["tickets:read"])).json()["id"]
    refused = api(client_for, sam)("post", f"{pk}/approve/", {})
    assert refused.status_code == 403 and "requester" in refused.json()["detail"]
    assert AccessRequest.objects.get(pk=pk).state == "service_review" and not Grant.objects.exists()


def test_an_owner_of_the_identity_cannot_decide_the_service_stage(client_for, alice, bob, rita, make_identity, wiki):
    # bob owns the wiki but is also a backup owner of the identity asking for it.
    shared = make_identity(alice, backups=[bob])
    pk = api(client_for, alice)("post", "", asking(shared, wiki)).json()["id"]
    assert api(client_for, bob)("post", f"{pk}/approve/", {}).status_code == 403
    assert api(client_for, bob)("post", f"{pk}/reject/", {"reason": "no"}).status_code == 403
    assert AccessRequest.objects.get(pk=pk).state == "service_review"
    assert api(client_for, rita)("post", f"{pk}/approve/", {}).status_code == 200


def test_rejecting_needs_a_reason_and_grants_nothing(client_for, alice, bob, identity, wiki):
    pk = api(client_for, alice)("post", "", asking(identity, wiki)).json()["id"]
    call = api(client_for, bob)
    missing = call("post", f"{pk}/reject/", {})
    assert missing.status_code == 400 and "reason" in missing.json()
    assert call("post", f"{pk}/reject/", {"reason": " "}).status_code == 400
    rejected = call("post", f"{pk}/reject/", {"reason": "Use the public mirror."})
    assert rejected.status_code == 200, rejected.content
    assert rejected.json()["state"] == "rejected" and rejected.json()["decision_reason"] == "Use the public mirror."
    assert not Grant.objects.exists()
    assert AuditEvent.objects.filter(action="access_request.reject", object_id=str(pk)).count() == 1


def test_the_requester_cancels_and_another_owner_may_not(client_for, alice, bob, sam, make_identity, wiki):
    shared = make_identity(alice, backups=[bob])
    pk = api(client_for, alice)("post", "", asking(shared, wiki)).json()["id"]
    refused = api(client_for, bob)("post", f"{pk}/cancel/", {})
    assert refused.status_code == 403
    cancelled = api(client_for, alice)("post", f"{pk}/cancel/", {"reason": "Asked for the wrong agent."})
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["state"] == "cancelled" and cancelled.json()["decided_by"] == "alice"
    assert AuditEvent.objects.filter(action="access_request.cancel", object_id=str(pk)).count() == 1


def test_a_request_that_no_longer_waits_is_refused_with_its_state(client_for, alice, bob, identity, wiki):
    pk = api(client_for, alice)("post", "", asking(identity, wiki)).json()["id"]
    assert api(client_for, alice)("post", f"{pk}/cancel/", {}).status_code == 200
    for person, verb, data in [(bob, "approve", {}), (bob, "reject", {"reason": "late"}), (alice, "cancel", {})]:
        late = api(client_for, person)("post", f"{pk}/{verb}/", data)
        assert late.status_code == 409, (verb, late.content)
        assert "cancelled" in late.json()["detail"]
    assert not Grant.objects.exists()


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"scopes": ["pages:delete"]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"ends_at": (timezone.now() - timedelta(hours=1)).isoformat()}, "ends_at"),
        ({"ends_at": "tomorrow"}, "ends_at"),
        ({"justification": "   "}, "justification"),
        ({"identity": "not-a-uuid"}, "identity"),
    ],
)
def test_bad_input_is_refused_with_the_reason_keyed_by_field(client_for, alice, identity, wiki, changes, field):
    refused = api(client_for, alice)("post", "", asking(identity, wiki, **changes))
    assert refused.status_code == 400, refused.content
    assert field in refused.json()
    assert not AccessRequest.objects.exists()


def test_asking_beyond_the_longest_period_is_refused(client_for, alice, identity, wiki):
    refused = api(client_for, alice)("post", "", asking(identity, wiki, days=nhi_setting("ACCESS_REQUEST_MAX_DAYS") + 1))
    assert refused.status_code == 400 and "ends_at" in refused.json()
    assert not AccessRequest.objects.exists()


def test_a_second_waiting_request_for_the_same_identity_and_service_is_refused(client_for, alice, identity, wiki):
    call = api(client_for, alice)
    assert call("post", "", asking(identity, wiki)).status_code == 201
    again = call("post", "", asking(identity, wiki, scopes=["pages:write"]))
    assert again.status_code == 400 and "service" in again.json()
    assert AccessRequest.objects.count() == 1


def test_an_unknown_service_is_a_404(client_for, alice, identity, wiki):
    assert api(client_for, alice)("post", "", asking(identity, wiki, service=wiki.pk + 1000)).status_code == 404


def test_an_outsider_sees_nothing_and_cannot_ask_for_identities_he_cannot_see(client_for, alice, charlie, identity, wiki):
    pk = api(client_for, alice)("post", "", asking(identity, wiki)).json()["id"]
    call = api(client_for, charlie)
    assert ids(call("get", "")) == []
    assert ids(call("get", "?view=waiting")) == []
    assert call("get", f"{pk}/").status_code == 404
    assert call("post", f"{pk}/approve/", {}).status_code == 404
    assert call("post", f"{pk}/cancel/", {}).status_code == 404
    assert call("post", "", asking(identity, wiki, scopes=["pages:write"])).status_code == 404
    assert AccessRequest.objects.count() == 1


def test_compliance_reads_requests_but_neither_asks_nor_decides(client_for, alice, carol, identity, wiki):
    pk = api(client_for, alice)("post", "", asking(identity, wiki)).json()["id"]
    call = api(client_for, carol)
    assert ids(call("get", "")) == [pk]
    assert call("get", f"{pk}/").json()["justification"] == "Reads the runbooks it follows."
    assert call("post", "", asking(identity, wiki, scopes=["pages:write"])).status_code == 403
    assert call("post", f"{pk}/approve/", {}).status_code == 403
    assert call("post", f"{pk}/reject/", {"reason": "no"}).status_code == 403
    assert call("post", f"{pk}/reject/", {}).status_code == 403  # who may decide is answered before the reason
    assert call("post", f"{pk}/cancel/", {}).status_code == 403
    assert AccessRequest.objects.get().state == "service_review"


def test_an_anonymous_client_is_refused(db, identity, wiki):
    client = Client()
    assert client.get(LIST).status_code == 401
    assert client.post(LIST, asking(identity, wiki), content_type="application/json").status_code == 401
    assert not AccessRequest.objects.exists()


def test_the_waiting_view_lists_what_each_person_must_decide(client_for, alice, bob, sam, rita, identity, make_identity, wiki):
    asked_by_sam = api(client_for, sam)("post", "", asking(identity, wiki)).json()["id"]
    asked_by_alice = api(client_for, alice)("post", "", asking(make_identity(alice), wiki)).json()["id"]

    assert ids(api(client_for, alice)("get", "?view=waiting")) == [asked_by_sam]  # the owner stage of sam's
    assert ids(api(client_for, bob)("get", "?view=waiting")) == [asked_by_alice]  # the wiki's stage of alice's
    assert ids(api(client_for, sam)("get", "?view=waiting")) == [asked_by_alice]  # not his own
    assert ids(api(client_for, rita)("get", "?view=waiting")) == [asked_by_alice]

    assert api(client_for, alice)("post", f"{asked_by_sam}/approve/", {}).status_code == 200
    assert ids(api(client_for, alice)("get", "?view=waiting")) == []
    assert ids(api(client_for, bob)("get", "?view=waiting")) == [asked_by_sam, asked_by_alice]  # oldest first


def test_the_list_narrows_by_view_and_state_and_is_paginated(client_for, alice, sam, identity, make_identity, wiki):
    asked_by_sam = api(client_for, sam)("post", "", asking(identity, wiki)).json()["id"]
    asked_by_alice = api(client_for, alice)("post", "", asking(make_identity(alice), wiki)).json()["id"]
    call = api(client_for, alice)
    everything = call("get", "")
    assert everything.json()["count"] == 2 and ids(everything) == [asked_by_alice, asked_by_sam]  # newest first
    assert ids(call("get", "?view=mine")) == [asked_by_alice]
    assert ids(call("get", "?state=owner_review")) == [asked_by_sam]
    assert ids(call("get", "?state=service_review")) == [asked_by_alice]
    assert ids(call("get", "?state=pending")) == [asked_by_alice, asked_by_sam]
    assert call("post", f"{asked_by_alice}/cancel/", {}).status_code == 200
    assert ids(call("get", "?state=cancelled")) == [asked_by_alice]
    assert ids(call("get", "?view=mine&state=pending")) == []
    assert ids(call("get", "?state=approved")) == []
    unknown = call("get", "?view=everyone&state=maybe")
    assert unknown.status_code == 400 and {"view", "state"} <= set(unknown.json())


def test_the_answer_carries_its_dates_as_sent(client_for, alice, identity, wiki):
    ends_at = in_days(7)
    pk = api(client_for, alice)("post", "", asking(identity, wiki, ends_at=ends_at.isoformat())).json()["id"]
    detail = api(client_for, alice)("get", f"{pk}/").json()
    assert parse_datetime(detail["ends_at"]) == ends_at
    assert parse_datetime(detail["requested_at"]) <= timezone.now()
