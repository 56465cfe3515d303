"""The decision log filters by whether policy could be evaluated cleanly (NHIP-07's evaluation
errors link to it), on the page and in the API alike; it narrows what the person may see, and
a value other than yes or no is refused."""

from django.urls import reverse

from tokens.policy.engine import policy_decide
from tokens.policy.models import PolicyDecision

from .conftest import issue_request, make_active

API = "/api/v1/policy-decisions/"


def listed(client, **params):
    page = client.get(reverse("policy:decision-list"), params)
    assert page.status_code == 200 and not page.context["filter"].errors
    return {d.pk for d in page.context["decisions"]}


def api_listed(client, **params):
    response = client.get(API, params)
    assert response.status_code == 200
    return {d["id"] for d in response.json()["results"]}


def seeded(agent, crm):
    """A clean allow, and a denial whose policy failed to evaluate."""
    clean = policy_decide(issue_request(agent, crm)).decision_id
    failed = policy_decide(issue_request(agent, crm)).decision_id
    PolicyDecision.objects.filter(pk=failed).update(decision="deny", enforced="deny", errors=["policy evaluation failed"])
    return clean, failed


def test_it_filters_by_evaluation_errors_on_the_page_and_in_the_api(client_for, rita, agent, crm):
    clean, failed = seeded(agent, crm)
    for read in (listed, api_listed):
        assert read(client_for(rita), errors="true") == {failed}
        assert read(client_for(rita), errors="false") == {clean}
        assert read(client_for(rita)) == {clean, failed}
    page = client_for(rita).get(reverse("policy:decision-list"), {"errors": "true"}).content.decode()
    assert 'name="errors"' in page and 'name="enforced"' in page and '<option value="true" selected>Yes</option>' in page


def test_an_owner_finds_only_their_own_errors_and_an_outsider_nothing(client_for, alice, bob, charlie, agent, crm, make_identity):
    _, failed = seeded(agent, crm)
    bobs = make_active(make_identity(bob))
    theirs = policy_decide(issue_request(bobs, crm)).decision_id
    PolicyDecision.objects.filter(pk=theirs).update(errors=["policy evaluation failed"])
    assert listed(client_for(alice), errors="true") == {failed}
    assert api_listed(client_for(bob), errors="true") == {theirs}
    assert client_for(charlie).get(reverse("policy:decision-list"), {"errors": "true"}).status_code == 403
    assert client_for(charlie).get(API, {"errors": "true"}).status_code == 403


def test_a_value_other_than_yes_or_no_is_reported_on_the_page_and_refused_by_the_api(client_for, rita, agent, crm):
    seeded(agent, crm)
    page = client_for(rita).get(reverse("policy:decision-list"), {"errors": "maybe"})
    assert page.status_code == 200 and set(page.context["filter"].errors) == {"errors"} and not page.context["decisions"]
    response = client_for(rita).get(API, {"errors": "maybe"})
    assert response.status_code == 400 and "errors" in response.json()
