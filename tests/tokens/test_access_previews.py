"""Before anyone decides an access request, its page says whether the grant would ever yield a token."""

from datetime import timedelta

from django.utils import timezone

from inventory.models import Autonomy, Sensitivity
from tokens.access_previews import access_preview
from tokens.access_requests import access_request_approve, access_request_create
from tokens.policy.models import PolicyDecision
from tokens.services import service_create


def ask(alice, identity, service, scopes):
    return access_request_create(
        actor=alice, identity=identity, service=service, scopes=scopes,
        ends_at=timezone.now() + timedelta(days=7), justification="Needed for the quarter close.",
    )


def test_a_grant_the_policy_would_honour_is_previewed_as_allowed(alice, rita, client_for, agent, crm):
    request = ask(alice, agent.identity, crm, ["tickets:read"])
    assert access_preview(request).decision == "allow"
    assert "would issue the agent a token for these scopes" in client_for(rita).get(f"/access-requests/{request.pk}/").content.decode()


def test_a_service_above_the_identitys_ceiling_is_flagged_before_approval(alice, rita, sam, client_for, agent):
    vault = service_create(
        actor=sam, name="Payments", audience="https://payments.example.com", owner=sam, trust_boundary="corp-internal",
        sensitivity=Sensitivity.RESTRICTED, scopes=[{"name": "payouts:read", "description": "Read payouts"}],
    )
    request = ask(alice, agent.identity, vault, ["payouts:read"])
    preview = access_preview(request)
    assert preview.decision == "deny" and preview.policy_ids == ("forbid-service-above-sensitivity-ceiling",)
    html = client_for(rita).get(f"/access-requests/{request.pk}/").content.decode()
    assert "would still refuse the agent's token: <code>forbid-service-above-sensitivity-ceiling</code>" in html
    assert "Approving it grants access on paper only." in html


def test_consequential_scopes_of_an_autonomous_agent_are_previewed_as_needing_approval(alice, make_agent, crm):
    autonomous = make_agent(alice, autonomy=Autonomy.AUTONOMOUS)
    request = ask(alice, autonomous.identity, crm, ["customers:export"])
    assert access_preview(request).decision == "allow with approval"


def test_a_decided_request_shows_no_preview(alice, rita, client_for, agent, crm):
    request = ask(alice, agent.identity, crm, ["tickets:read"])
    access_request_approve(actor=rita, access_request=request)
    assert "Policy preview" not in client_for(rita).get(f"/access-requests/{request.pk}/").content.decode()


def test_the_preview_records_no_decision(alice, rita, client_for, agent, crm):
    request = ask(alice, agent.identity, crm, ["tickets:read"])
    client_for(rita).get(f"/access-requests/{request.pk}/")
    assert not PolicyDecision.objects.exists()


def test_a_service_owner_without_a_role_sees_the_answer_but_not_the_policy_ids(alice, rita, sam, charlie, client_for, agent):
    vault = service_create(
        actor=sam, name="Vault", audience="https://vault.example.com", owner=charlie, trust_boundary="corp-internal",
        sensitivity=Sensitivity.RESTRICTED, scopes=[{"name": "secrets:read", "description": "Read secrets"}],
    )
    request = ask(alice, agent.identity, vault, ["secrets:read"])
    as_owner = client_for(charlie).get(f"/access-requests/{request.pk}/").content.decode()
    assert "would still refuse the agent's token." in as_owner and "forbid-service-above-sensitivity-ceiling" not in as_owner
    as_reviewer = client_for(rita).get(f"/access-requests/{request.pk}/").content.decode()
    assert "forbid-service-above-sensitivity-ceiling" in as_reviewer
