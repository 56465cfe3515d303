"""The trail keeps an event's object name in 200 characters: a longer one (two identities' full
names, a long webhook host) is cut to fit, on every database, never a 500. PostgreSQL refused
the row (value too long), and with it the change it recorded."""

import pytest
from django.core.management import call_command

from nhiportal.audit.models import AuditEvent
from tokens.models import Delegation

pytestmark = pytest.mark.django_db


def test_a_delegation_between_two_long_named_identities_is_recorded_with_its_name_cut(client_for, alice, make_identity, capsys):
    principal = make_identity(alice, name="p" * 120)
    delegate = make_identity(alice, name="d" * 120)
    response = client_for(alice).post(
        f"/identities/{principal.pk}/delegations/new/", {"delegate": str(delegate.pk), "reason": "Triage helper"},
    )
    assert response.status_code == 302 and Delegation.objects.filter(principal=principal, delegate=delegate).exists()
    event = AuditEvent.objects.get(action="delegation.create")
    assert event.object_repr == f"{'d' * 120} acts for {'p' * 120}"[:200]
    call_command("audit_verify")
    assert "Audit chain intact" in capsys.readouterr().out
