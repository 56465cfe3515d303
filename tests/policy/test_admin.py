"""Policy in Django admin: versions read-mostly (changes through the services), decisions read-only."""

from django.contrib.auth import get_user_model
from django.urls import reverse

from nhiportal.audit.models import AuditEvent
from tokens.policy.engine import policy_decide

from .conftest import issue_request, new_version


def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "correct-horse-battery-staple")


def test_it_shows_versions_and_decisions_read_only(client_for, sam, agent, crm, db):
    new_version(sam)
    decision = policy_decide(issue_request(agent, crm))
    client = client_for(superuser(db))
    assert client.get(reverse("admin:policy_policyversion_changelist")).status_code == 200
    assert client.get(reverse("admin:policy_policydecision_changelist")).status_code == 200
    page = client.get(reverse("admin:policy_policydecision_change", args=[decision.decision_id]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.get(reverse("admin:policy_policyversion_add")).status_code == 403


def test_its_activate_action_goes_through_the_service(client_for, sam, db):
    version = new_version(sam)
    client = client_for(superuser(db))
    client.post(
        reverse("admin:policy_policyversion_changelist"),
        {"action": "activate", "_selected_action": [version.pk]},
    )
    version.refresh_from_db()
    assert version.is_active
    assert AuditEvent.objects.filter(action="policy.activate").count() == 1
