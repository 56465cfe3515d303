"""Activating a version that would decide recent requests otherwise takes a second look: the
version page's button leads to a page with what replay says would change, which asks why; the
reason and the counts are kept in the activation's audit event. A version that changes nothing
still activates in one click, and the API and Django admin keep their own ways."""

from django.contrib.auth import get_user_model
from django.urls import reverse

from nhiportal.audit.models import AuditEvent
from tokens.policy.engine import policy_decide
from tokens.policy.models import PolicyVersion
from tokens.policy.services import REASON_NEEDED

from .conftest import ALLOW_ALL, issue_request, new_version


def activate_url(version):
    return reverse("policy:version-activate", args=[version.number])


def allowed_and_denied(agent, crm):
    """Two recorded decisions under the shipped default: one allowed, one denied (TTL past the ceiling)."""
    allowed = policy_decide(issue_request(agent, crm))
    denied = policy_decide(issue_request(agent, crm, requested_ttl=3600))
    assert allowed.allowed and not denied.allowed
    return allowed, denied


def test_one_click_on_a_version_that_changes_outcomes_activates_nothing_and_leads_to_what_would_change(client_for, sam, agent, crm):
    allowed_and_denied(agent, crm)
    version = new_version(sam, ALLOW_ALL)  # would allow the request the default refused
    client = client_for(sam)
    detail = client.get(reverse("policy:version-detail", args=[version.number])).content.decode()
    assert f'href="{activate_url(version)}"' in detail and f'action="{activate_url(version)}"' not in detail

    response = client.post(activate_url(version))

    assert response.status_code == 302 and response.url == activate_url(version)
    version.refresh_from_db()
    assert not version.is_active and not AuditEvent.objects.filter(action="policy.activate").exists()


def test_the_confirmation_page_shows_what_would_change_and_needs_a_reason(client_for, sam, agent, crm):
    allowed_and_denied(agent, crm)
    version = new_version(sam, ALLOW_ALL)
    client = client_for(sam)

    page = client.get(activate_url(version))

    assert page.status_code == 200
    html = page.content.decode()
    assert "would allow 2 and deny 0" in html
    assert "<strong>1</strong> would be decided as it was recorded" in html
    assert "<strong>0</strong> allowed then would now be" in html and "<strong>1</strong> denied then would now be" in html
    assert agent.name in html and 'name="reason"' in html
    refused = client.post(activate_url(version), {"confirmed": "True", "reason": "  "})
    assert refused.status_code == 400 and refused.context["form"].errors["reason"] == [REASON_NEEDED]
    version.refresh_from_db()
    assert not version.is_active


def test_a_confirmed_activation_keeps_its_reason_and_what_replay_said_in_the_audit_event(client_for, sam, agent, crm):
    allowed_and_denied(agent, crm)
    version = new_version(sam, ALLOW_ALL)

    response = client_for(sam).post(activate_url(version), {"confirmed": "True", "reason": "Longer tokens for the batch migration"})

    assert response.status_code == 302 and response.url == reverse("policy:version-detail", args=[version.number])
    version.refresh_from_db()
    assert version.is_active
    event = AuditEvent.objects.get(action="policy.activate")
    assert event.reason == "Longer tokens for the batch migration" and event.actor_label == "sam"
    assert {k: event.after[k] for k in ("replayed", "would_change", "allowed_to_denied", "denied_to_allowed")} == {
        "replayed": 2, "would_change": 1, "allowed_to_denied": 0, "denied_to_allowed": 1,
    }


def test_a_version_that_changes_no_recent_outcome_still_activates_in_one_click(client_for, sam, agent, crm):
    policy_decide(issue_request(agent, crm))  # allowed, and ALLOW_ALL allows it too
    version = new_version(sam, ALLOW_ALL)

    response = client_for(sam).post(activate_url(version))

    assert response.status_code == 302
    version.refresh_from_db()
    assert version.is_active
    assert AuditEvent.objects.get(action="policy.activate").after["would_change"] == 0


def test_only_security_admins_open_the_confirmation_page(client_for, sam, rita, carol, alice, charlie):
    version = new_version(sam)
    for person in (rita, carol, alice, charlie):
        assert client_for(person).get(activate_url(version)).status_code == 403


def test_the_api_still_activates_in_one_call_and_keeps_a_reason_it_is_given(client_for, sam, agent, crm):
    allowed_and_denied(agent, crm)
    version = new_version(sam, ALLOW_ALL)

    response = client_for(sam).post(
        reverse("api:policyversion-activate", args=[version.number]), {"reason": "policies@1a2b3c"}, content_type="application/json"
    )

    assert response.status_code == 200 and response.json()["is_active"] is True
    event = AuditEvent.objects.get(action="policy.activate")
    assert event.reason == "policies@1a2b3c" and event.after["denied_to_allowed"] == 1


def test_the_admin_action_sends_a_version_that_changes_outcomes_to_the_portal_page(client_for, sam, agent, crm, db):
    allowed_and_denied(agent, crm)
    version = new_version(sam, ALLOW_ALL)
    root = get_user_model().objects.create_superuser("root", "root@example.com", "correct-horse-battery-staple")

    response = client_for(root).post(
        reverse("admin:policy_policyversion_changelist"), {"action": "activate", "_selected_action": [version.pk]}, follow=True
    )

    assert activate_url(version) in response.content.decode()
    assert not PolicyVersion.objects.get(pk=version.pk).is_active
