"""The simulator: decide a made-up request without recording a decision."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from tokens.models import Grant, ServiceScope
from tokens.policy.models import PolicyDecision

from .conftest import DENY_ALL, DENY_EXAMPLE, make_active, new_version


def simulate(client, identity, service, **params):
    query = {"identity": str(identity.pk), "service": service.pk, "action": "issue", "scopes": "tickets:read", "requested_ttl": 300}
    query.update(params)
    return client.get(reverse("policy:simulator"), query)


def grant(identity, service, *scopes):
    now = timezone.now()
    return Grant.objects.create(identity=identity, service=service, scopes=list(scopes), ends_at=now + timedelta(days=1))


def test_it_shows_the_decision_and_the_deciding_policies_without_recording_one(client_for, alice, agent, crm):
    grant(agent, crm, "tickets:read")
    page = simulate(client_for(alice), agent, crm)
    assert page.status_code == 200
    simulation = page.context["simulation"]
    assert simulation.verdict.decision == "allow"
    assert "permit-active-agent-granted-scopes" in simulation.verdict.policy_ids
    assert simulation.granted_scopes == ("tickets:read",)
    assert b"permit-active-agent-granted-scopes" in page.content
    assert not PolicyDecision.objects.exists()


def test_it_denies_scopes_without_a_live_grant(client_for, alice, agent, crm):
    simulate_page = simulate(client_for(alice), agent, crm)
    assert simulate_page.context["simulation"].verdict.decision == "deny"


def test_it_marks_consequential_scopes_for_autonomous_agents(client_for, alice, make_identity, crm):
    autonomous = make_active(make_identity(alice, autonomy="autonomous"))
    ServiceScope.objects.create(service=crm, name="tickets:close", consequential=True)
    grant(autonomous, crm, "tickets:close")
    client = client_for(alice)
    refused = simulate(client, autonomous, crm, scopes="tickets:close").context["simulation"]
    assert refused.consequential_scopes == ("tickets:close",)
    assert refused.verdict.policy_ids == ("forbid-autonomous-consequential-without-approval",)
    approved = simulate(client, autonomous, crm, scopes="tickets:close", human_approval="on").context["simulation"]
    assert approved.verdict.decision == "allow" and approved.verdict.ttl_bound == 300


def test_it_simulates_a_chosen_version(client_for, sam, agent, crm):
    grant(agent, crm, "tickets:read")
    draft = new_version(sam, DENY_ALL, DENY_EXAMPLE)
    simulation = simulate(client_for(sam), agent, crm, version=draft.number).context["simulation"]
    assert simulation.verdict.policy_ids == ("forbid-everything",) and simulation.version_number == draft.number


def test_it_finds_the_identity_by_name(client_for, alice, agent, crm):
    page = client_for(alice).get(
        reverse("policy:simulator"), {"identity": agent.name, "service": crm.pk, "action": "issue", "scopes": "x", "requested_ttl": 0}
    )
    assert page.context["simulation"] is not None


def test_it_will_not_simulate_an_identity_the_person_cannot_see(client_for, alice, bob, make_identity, crm):
    bobs = make_active(make_identity(bob))
    page = simulate(client_for(alice), bobs, crm)
    assert page.context["simulation"] is None
    assert page.context["form"].errors["identity"] == ["No identity you can see has that name or id."]
    assert bobs.name.encode() not in page.content


def test_owners_cannot_simulate_drafts(client_for, alice, sam, agent, crm):
    draft = new_version(sam, DENY_ALL, DENY_EXAMPLE)
    page = simulate(client_for(alice), agent, crm, version=draft.number)
    assert "version" in page.context["form"].errors


def test_it_shows_an_empty_form_first(client_for, rita, agent):
    page = client_for(rita).get(reverse("policy:simulator"), {"identity": str(agent.pk)})
    assert page.status_code == 200 and page.context["simulation"] is None
    assert page.context["form"].initial["identity"] == str(agent.pk)
