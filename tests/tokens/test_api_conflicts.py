"""A state that refuses the action is a 409 with the reason as one string, on the token
service's API: a request decided already, an exposure closed, a task no longer waiting, a round
closed, a grant ended, trust withdrawn already. Bad input stays a 400; nothing is written twice."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from tokens import access_reviews
from tokens.access_requests import access_request_approve, access_request_create
from tokens.distrust import trust_end
from tokens.exposures import exposure_dismiss, exposure_report_token
from tokens.models import Task
from tokens.services import grant_revoke, service_create, trust_domain_create

from .conftest import new_private_key, public_jwk, token_request

API = "/api/v1/"


def post(client, url, data=None):
    return client.post(f"{API}{url}", data or {}, content_type="application/json")


def assert_conflict(response, words):
    assert response.status_code == 409, response.content
    body = response.json()
    assert list(body) == ["detail"] and isinstance(body["detail"], str), body
    assert words in body["detail"], body


@pytest.fixture
def wiki(sam, bob):
    return service_create(actor=sam, name="Wiki", audience="https://wiki.example.com", owner=bob, trust_boundary="corp-internal", scopes=["pages:read"])


def asked(alice, identity, wiki):
    return access_request_create(
        actor=alice, identity=identity, service=wiki, scopes=["pages:read"],
        ends_at=timezone.now() + timedelta(days=10), justification="Reads runbooks.",
    )


def test_it_answers_409_to_deciding_an_access_request_approved_already(client_for, alice, bob, make_identity, wiki):
    request = asked(alice, make_identity(alice), wiki)
    access_request_approve(actor=bob, access_request=request)
    assert_conflict(post(client_for(bob), f"access-requests/{request.pk}/approve/"), "no longer waits")
    assert_conflict(post(client_for(bob), f"access-requests/{request.pk}/reject/", {"reason": "too late"}), "no longer waits")
    assert_conflict(post(client_for(alice), f"access-requests/{request.pk}/cancel/"), "nothing to cancel")
    assert AuditEvent.objects.filter(action__startswith="access_request.", object_id=str(request.pk)).count() == 2


def test_a_bad_reason_stays_a_400_keyed_by_field(client_for, alice, bob, make_identity, wiki):
    request = asked(alice, make_identity(alice), wiki)
    refused = post(client_for(bob), f"access-requests/{request.pk}/reject/", {"reason": ""})
    assert refused.status_code == 400 and "reason" in refused.json()


def test_it_answers_409_to_confirming_or_dismissing_a_dismissed_exposure(client_for, sam, charlie, agent, get_token):
    leaked = get_token(agent)["access_token"]
    exposure = exposure_report_token(actor=charlie, token=leaked, where_found="CI log #4411")
    exposure_dismiss(actor=sam, exposure=exposure, reason="A sandbox copy.")
    for verb in ("confirm", "dismiss"):
        assert_conflict(post(client_for(sam), f"exposures/{exposure.pk}/{verb}/", {"reason": "again"}), "dismissed already")
    assert AuditEvent.objects.filter(action__in=["exposure.confirm", "exposure.dismiss"]).count() == 1


def test_it_answers_409_to_approving_a_task_that_no_longer_waits(client_for, oauth, make_agent, crm, grant, rita):
    agent = make_agent(autonomy="autonomous")
    grant(agent, crm, ["tickets:read", "customers:export"])
    token_request(oauth, agent, scope="customers:export")
    task = Task.objects.get(identity=agent.identity)
    assert post(client_for(rita), f"tasks/{task.pk}/approve/", {"minutes": 5}).status_code == 200
    assert_conflict(post(client_for(rita), f"tasks/{task.pk}/approve/", {"minutes": 5}), "no longer waits")
    assert_conflict(post(client_for(rita), f"tasks/{task.pk}/reject/", {"reason": "no"}), "no longer waits")


def test_it_answers_409_to_closing_an_access_review_twice_and_deciding_in_a_closed_one(client_for, rita, make_agent, crm, grant):
    grant(make_agent(), crm, ["tickets:read"])
    review = access_reviews.access_review_launch(actor=rita, name="Yearly", due=date.today() + timedelta(days=7), service=crm)
    item = access_reviews.items_for(rita, review).get()
    client = client_for(rita)
    assert post(client, f"access-reviews/{review.pk}/items/{item.pk}/decide/", {"decision": "keep"}).status_code == 200
    assert_conflict(post(client, f"access-reviews/{review.pk}/items/{item.pk}/decide/", {"decision": "keep"}), "decided already")
    assert post(client, f"access-reviews/{review.pk}/close/").status_code == 200
    assert_conflict(post(client, f"access-reviews/{review.pk}/close/"), "closed already")


def test_it_answers_409_to_reducing_a_revoked_grant(client_for, sam, agent, crm, grant):
    held = grant(agent, crm, ["tickets:read", "tickets:write"])
    grant_revoke(actor=sam, grant=held, reason="project over")
    response = post(client_for(sam), f"grants/{held.pk}/reduce/", {"scopes": ["tickets:write"], "reason": "narrow"})
    assert_conflict(response, "This grant has ended")


def test_it_answers_409_to_distrusting_a_trust_domain_twice(client_for, sam):
    jwks = {"keys": [public_jwk(new_private_key(), kid="td-1", use="jwt-svid")]}
    domain = trust_domain_create(actor=sam, name="prod.example.org", jwks=jwks)
    trust_end(actor=sam, holder=domain, reason="compromised")
    assert_conflict(post(client_for(sam), f"trust-domains/{domain.pk}/distrust/", {"reason": "again"}), "not trusted already")


def test_the_schema_documents_the_409_of_each_operation_that_can_conflict(client_for, sam):
    described = client_for(sam).get("/api/schema/", {"format": "json"}).json()
    for path in [
        "/api/v1/access-requests/{id}/approve/", "/api/v1/access-requests/{id}/reject/", "/api/v1/access-requests/{id}/cancel/",
        "/api/v1/claims/{id}/approve/", "/api/v1/claims/{id}/reject/", "/api/v1/claims/{id}/cancel/",
        "/api/v1/attestations/{id}/confirm/", "/api/v1/attestations/{id}/reject/",
        "/api/v1/campaigns/{id}/close/", "/api/v1/campaigns/{id}/stop-repeating/",
        "/api/v1/exposures/{id}/confirm/", "/api/v1/exposures/{id}/dismiss/",
        "/api/v1/tasks/{id}/approve/", "/api/v1/tasks/{id}/reject/",
        "/api/v1/access-reviews/{id}/close/", "/api/v1/access-reviews/{id}/items/{item_pk}/decide/",
        "/api/v1/grants/", "/api/v1/grants/{id}/reduce/", "/api/v1/trust-domains/{id}/distrust/", "/api/v1/trust-domains/{id}/trust/",
        "/api/v1/people/{id}/deactivate/", "/api/v1/people/{id}/reactivate/",
    ]:
        answers = described["paths"][path]["post"]["responses"]
        assert "409" in answers, path
        assert answers["409"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, path
