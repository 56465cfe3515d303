"""The policy API under /api/v1/: versions, activation, mode, decisions, simulation."""

import pytest
from django.urls import reverse

from tokens.policy.engine import policy_decide
from tokens.policy.models import PolicyDecision, PolicyVersion

from .conftest import ALLOW_ALL, ALLOW_EXAMPLE, DENY_ALL, DENY_EXAMPLE, active_version, issue_request, make_active, new_version


def post(client, name, data, *args):
    return client.post(reverse(f"api:{name}", args=args), data, content_type="application/json")


@pytest.mark.parametrize("name", ["policyversion-list", "policydecision-list"])
def test_an_outsider_gets_403_on_lists(client_for, charlie, name):
    assert client_for(charlie).get(reverse(f"api:{name}")).status_code == 403


def test_an_outsider_can_do_nothing_with_versions_or_simulations(client_for, charlie, sam, agent, crm):
    version = new_version(sam)
    client = client_for(charlie)
    assert client.get(reverse("api:policyversion-detail", args=[version.number])).status_code == 403
    assert post(client, "policyversion-list", {"text": ALLOW_ALL, "examples": ALLOW_EXAMPLE}).status_code == 403
    assert post(client, "policyversion-activate", {}, version.number).status_code == 403
    response = post(client, "policy-simulate", {"identity": str(agent.pk), "service": crm.pk, "scopes": ["x"]})
    assert response.status_code == 403
    assert agent.name not in response.content.decode()


def test_anonymous_callers_are_refused(client):
    assert client.get(reverse("api:policyversion-list")).status_code in (401, 403)


def test_it_lists_and_retrieves_versions(client_for, rita, alice, sam):
    active = active_version(sam, note="live")
    draft = new_version(sam, note="draft")
    body = client_for(rita).get(reverse("api:policyversion-list")).json()
    assert [v["number"] for v in body["results"]] == [draft.number, active.number]
    assert body["results"][1]["is_active"] is True and body["results"][1]["created_by"] == "sam"
    owner = client_for(alice)
    assert [v["number"] for v in owner.get(reverse("api:policyversion-list")).json()["results"]] == [active.number]
    assert owner.get(reverse("api:policyversion-detail", args=[draft.number])).status_code == 404
    assert owner.get(reverse("api:policyversion-detail", args=[active.number])).json()["text"] == ALLOW_ALL


def test_a_security_admin_creates_a_version(client_for, sam):
    response = post(client_for(sam), "policyversion-list", {"text": ALLOW_ALL, "examples": ALLOW_EXAMPLE, "note": "api"})
    assert response.status_code == 201
    assert response.json()["number"] == 1 and response.json()["is_active"] is False


def test_it_answers_400_with_the_line_of_a_policy_error(client_for, sam):
    response = post(client_for(sam), "policyversion-list", {"text": '@id("a")\npermit (principal, action, resource)\nwhen { };'})
    assert response.status_code == 400
    assert response.json()["text"][0].startswith("Line 3:")
    assert not PolicyVersion.objects.exists()


def test_it_answers_400_for_malformed_examples(client_for, sam):
    response = post(client_for(sam), "policyversion-list", {"text": ALLOW_ALL, "examples": {"not": "a list"}})
    assert response.status_code == 400 and "examples" in response.json()


def test_reviewers_cannot_create_or_activate(client_for, rita, sam):
    version = new_version(sam)
    client = client_for(rita)
    assert post(client, "policyversion-list", {"text": ALLOW_ALL}).status_code == 403
    assert post(client, "policyversion-activate", {}, version.number).status_code == 403
    assert post(client, "policyversion-mode", {"mode": "log_only"}, version.number).status_code == 403


def test_a_security_admin_activates_a_version(client_for, sam):
    version = new_version(sam)
    response = post(client_for(sam), "policyversion-activate", {}, version.number)
    assert response.status_code == 200 and response.json()["is_active"] is True


def test_activation_is_a_409_when_examples_fail(client_for, sam):
    version = new_version(sam, DENY_ALL, ALLOW_EXAMPLE)
    response = post(client_for(sam), "policyversion-activate", {}, version.number)
    assert response.status_code == 409
    assert response.json()["needs_confirmation"] is False and "do not pass" in response.json()["detail"]


def test_activation_needs_confirmation_when_it_would_deny_everything(client_for, sam, agent, crm):
    policy_decide(issue_request(agent, crm))
    version = new_version(sam, DENY_ALL, DENY_EXAMPLE)
    client = client_for(sam)
    refused = post(client, "policyversion-activate", {}, version.number)
    assert refused.status_code == 409 and refused.json()["needs_confirmation"] is True
    assert post(client, "policyversion-activate", {"confirm_deny_all": True}, version.number).status_code == 200


def test_a_security_admin_sets_the_mode(client_for, sam):
    version = new_version(sam)
    response = post(client_for(sam), "policyversion-mode", {"mode": "log_only"}, version.number)
    assert response.status_code == 200 and response.json()["mode"] == "log_only"
    assert post(client_for(sam), "policyversion-mode", {"mode": "never"}, version.number).status_code == 400


def test_it_lists_decisions_through_the_visibility_gate(client_for, alice, bob, rita, agent, crm, make_identity):
    mine = policy_decide(issue_request(agent, crm, requested_ttl=3600))
    bobs = make_active(make_identity(bob))
    policy_decide(issue_request(bobs, crm))
    body = client_for(alice).get(reverse("api:policydecision-list")).json()
    assert [d["id"] for d in body["results"]] == [mine.decision_id]
    assert body["results"][0]["policy_ids"] == ["forbid-ttl-above-ceiling"]
    assert body["results"][0]["request"]["context"]["requested_ttl"] == 3600
    assert len(client_for(rita).get(reverse("api:policydecision-list")).json()["results"]) == 2
    filtered = client_for(rita).get(reverse("api:policydecision-list"), {"decision": "deny"}).json()["results"]
    assert [d["id"] for d in filtered] == [mine.decision_id]
    other = PolicyDecision.objects.exclude(pk=mine.decision_id).get()
    assert client_for(alice).get(reverse("api:policydecision-detail", args=[other.pk])).status_code == 404


def test_it_simulates_without_recording(client_for, alice, agent, crm):
    response = post(client_for(alice), "policy-simulate", {"identity": str(agent.pk), "service": crm.pk, "scopes": ["tickets:read"], "requested_ttl": 3600})
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "deny" and "forbid-ttl-above-ceiling" in body["policy_ids"]
    assert body["version"] is None and body["request"]["principal_id"] == str(agent.pk)
    assert not PolicyDecision.objects.exists()


def test_it_simulates_a_chosen_version(client_for, sam, agent, crm):
    draft = new_version(sam, DENY_ALL, DENY_EXAMPLE)
    body = post(client_for(sam), "policy-simulate", {"identity": str(agent.pk), "service": crm.pk, "scopes": ["x"], "version": draft.number}).json()
    assert body["policy_ids"] == ["forbid-everything"] and body["version"] == draft.number


def test_simulation_refuses_identities_the_caller_cannot_see(client_for, bob, agent, crm):
    response = post(client_for(bob), "policy-simulate", {"identity": str(agent.pk), "service": crm.pk, "scopes": ["x"]})
    assert response.status_code == 400
    assert response.json() == {"identity": ["No identity you can see has that id."]}


def test_it_replays_a_draft_against_recent_decisions(client_for, rita, sam, agent, crm):
    allowed = policy_decide(issue_request(agent, crm))
    draft = new_version(sam, DENY_ALL, DENY_EXAMPLE)
    count = PolicyDecision.objects.count()
    response = client_for(rita).get(reverse("api:policyversion-replay", args=[draft.number]), {"limit": 50})
    assert response.status_code == 200
    body = response.json()
    assert (body["replayed"], body["denied"], body["denies_everything"]) == (1, 1, True)
    assert body["changes"][0]["recorded"]["id"] == allowed.decision_id and body["changes"][0]["recorded"]["decision"] == "allow"
    assert body["changes"][0]["now"] == "deny" and body["changes"][0]["policy_ids"] == ["forbid-everything"]
    assert PolicyDecision.objects.count() == count  # replay records nothing


def test_replay_refuses_bad_limits_owners_and_outsiders(client_for, alice, charlie, sam, agent, crm):
    active = active_version(sam)
    url = reverse("api:policyversion-replay", args=[active.number])
    assert client_for(sam).get(url, {"limit": 0}).status_code == 400
    assert client_for(sam).get(url, {"limit": "many"}).status_code == 400
    assert client_for(alice).get(url).status_code == 403
    assert client_for(charlie).get(url).status_code == 403
    assert client_for(sam).get(reverse("api:policyversion-replay", args=[999])).status_code == 404


@pytest.mark.parametrize("key", ["%C3%98", "(J", "1.5", "-1"])
def test_a_decision_id_that_is_not_a_number_is_404(client_for, sam, key):
    assert client_for(sam).get(f"/api/v1/policy-decisions/{key}/").status_code == 404


@pytest.mark.parametrize("name, body, on_version", [
    ("policyversion-list", {"text": ALLOW_ALL, "examples": ALLOW_EXAMPLE, "active": True}, False),
    ("policyversion-check", {"text": ALLOW_ALL, "examples": ALLOW_EXAMPLE, "strict": True}, False),
    ("policyversion-activate", {"confirm": True}, True),
    ("policyversion-mode", {"mode": "log_only", "is_active": True}, True),
])
def test_a_body_field_the_operation_does_not_take_is_a_400_naming_it(client_for, sam, name, body, on_version):
    version = new_version(sam)
    before = list(PolicyVersion.objects.values_list("number", "is_active", "mode"))
    response = post(client_for(sam), name, body, *([version.number] if on_version else []))
    assert response.status_code == 400, response.content
    refused = [field for field in body if field not in ("text", "examples", "mode")]
    assert list(response.json()) == refused
    assert list(PolicyVersion.objects.values_list("number", "is_active", "mode")) == before


def test_a_simulation_names_a_field_it_does_not_take(client_for, alice, agent, crm):
    response = post(client_for(alice), "policy-simulate", {"identity": str(agent.pk), "service": crm.pk, "scopes": ["x"], "ttl": 60})
    assert response.status_code == 400 and list(response.json()) == ["ttl"]
