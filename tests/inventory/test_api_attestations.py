"""Attestations through the API: who sees them, who reviews them, what a rejection changes, 4xx with reasons."""

import pytest
from django.utils import timezone

from inventory.models import AIIdentity, AttestationReview
from inventory.services import identity_activate, identity_attest
from nhiportal.audit.models import AuditEvent

LIST = "/api/v1/attestations/"
REASON = "It holds contacts:write, yet its purpose says it only reads."


def api(client_for, user):
    client = client_for(user)

    def call(method, url="", data=None):
        return getattr(client, method)(f"{LIST}{url}", data, content_type="application/json")

    return call


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def agent(make_identity, alice):
    return identity_activate(actor=alice, identity=make_identity(alice, name="crm-summariser"), reason="go-live")


@pytest.fixture
def attestation(agent, alice):
    return identity_attest(actor=alice, identity=agent, note="Still needed.")


def test_a_reviewer_lists_what_waits_and_rejects_it(attestation, agent, rita, client_for):
    call = api(client_for, rita)
    assert ids(call("get", "?view=waiting")) == [attestation.pk]
    response = call("post", f"{attestation.pk}/reject/", {"reason": REASON})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["review"] == "rejected" and body["reviewed_by"] == "rita" and body["review_reason"] == REASON
    assert body["identity"] == str(agent.pk) and body["attested_by"] == "alice"
    assert AIIdentity.objects.get(pk=agent.pk).attestation_due == timezone.localdate()
    assert AuditEvent.objects.filter(action="attestation.reject").count() == 1
    assert ids(call("get", "?view=waiting")) == []


def test_a_reviewer_confirms_with_an_optional_note(attestation, sam, client_for):
    response = api(client_for, sam)("post", f"{attestation.pk}/confirm/", {})
    assert response.status_code == 200 and response.json()["review"] == "confirmed"


def test_a_rejection_without_a_reason_is_a_400_keyed_by_field(attestation, rita, client_for):
    response = api(client_for, rita)("post", f"{attestation.pk}/reject/", {"reason": ""})
    assert response.status_code == 400 and "reason" in response.json()
    attestation.refresh_from_db()
    assert attestation.review == AttestationReview.PENDING


def test_one_that_no_longer_waits_is_a_409_with_its_state(attestation, agent, alice, rita, client_for):
    identity_attest(actor=alice, identity=agent)  # supersedes it
    response = api(client_for, rita)("post", f"{attestation.pk}/confirm/", {})
    assert response.status_code == 409 and "superseded" in response.json()["detail"]


def test_the_owner_and_compliance_read_but_do_not_review(attestation, alice, carol, client_for):
    for person in (alice, carol):
        call = api(client_for, person)
        assert call("get", f"{attestation.pk}/").status_code == 200
        refused = call("post", f"{attestation.pk}/confirm/", {})
        assert refused.status_code == 403 and "reviews it" in refused.json()["detail"]
    attestation.refresh_from_db()
    assert attestation.review == AttestationReview.PENDING


def test_outsiders_get_404_and_an_empty_list(attestation, bob, charlie, client_for):
    for person in (bob, charlie):
        call = api(client_for, person)
        assert call("get", f"{attestation.pk}/").status_code == 404
        assert call("post", f"{attestation.pk}/reject/", {"reason": REASON}).status_code == 404
        assert ids(call("get", "?view=all")) == []
    attestation.refresh_from_db()
    assert attestation.review == AttestationReview.PENDING


def test_anonymous_callers_are_refused(attestation, client):
    assert client.get(LIST).status_code in (401, 403)


def test_filters_by_identity_state_and_author(attestation, agent, alice, make_identity, rita, client_for):
    other = identity_activate(actor=alice, identity=make_identity(alice), reason="go")
    theirs = identity_attest(actor=alice, identity=other)
    call = api(client_for, rita)
    assert ids(call("get", f"?identity={agent.pk}")) == [attestation.pk]
    assert ids(call("get", "?state=pending")) == [theirs.pk, attestation.pk]
    assert ids(api(client_for, alice)("get", "?view=mine")) == [theirs.pk, attestation.pk]


def test_bad_query_parameters_are_a_400_with_the_field(rita, client_for):
    call = api(client_for, rita)
    for query, field in (("?view=everything", "view"), ("?state=maybe", "state"), ("?identity=not-a-uuid", "identity")):
        response = call("get", query)
        assert response.status_code == 400 and field in response.json()
