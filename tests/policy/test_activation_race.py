"""Two security admins activating two versions at the same moment, each from their own browser:
exactly one version is active afterwards, and the audit trail says what each activation
replaced, so the second reads as replacing the first, never as replacing nothing.

pytest.mark.postgres, django_db(transaction=True): SQLite serializes writers, so only
PostgreSQL's row locks show whether two activations can cross."""

import pytest
from django.urls import reverse

from nhiportal.audit.models import AuditEvent
from nhiportal.people.roles import SECURITY_ADMIN
from tests.at_once import at_once
from tests.conftest import _person
from tokens.policy.models import PolicyVersion

from .conftest import active_version, new_version

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROUNDS = 6



def test_two_admins_activating_at_once_leave_one_active_and_each_names_what_it_replaced(sam):
    sue = _person("sue", SECURITY_ADMIN)
    active = active_version(sam).number
    for _ in range(ROUNDS):
        first, second = new_version(sam), new_version(sam)
        statuses = at_once(
            (sam, reverse("policy:version-activate", args=[first.number]), {}),
            (sue, reverse("policy:version-activate", args=[second.number]), {}),
        )
        assert statuses == [302, 302]
        assert PolicyVersion.objects.filter(is_active=True).count() == 1
        events = list(AuditEvent.objects.filter(action="policy.activate").order_by("-id")[:2])[::-1]
        replaced = [event.before["active_version"] for event in events]
        made_active = [event.after["active_version"] for event in events]
        assert replaced == [active, made_active[0]]
        active = made_active[1]
        assert PolicyVersion.objects.get(is_active=True).number == active
