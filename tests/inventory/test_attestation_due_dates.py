"""Attestation due dates are days of the portal's time zone, the days `overdue` is read in:
an identity activated or attested now falls due a whole interval after today, there."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.attestation_reviews import attestation_confirm, attestation_reject
from inventory.services import identity_activate, identity_attest


@pytest.fixture
def zone_a_day_off_utc(settings):
    """A zone whose date differs from UTC's now (UTC+14 late in the UTC day, UTC-12 early in it)."""
    settings.TIME_ZONE = "Etc/GMT-14" if timezone.now().hour >= 10 else "Etc/GMT+12"
    assert timezone.localdate() != timezone.now().astimezone(timezone.get_fixed_timezone(0)).date()


def test_an_identity_activated_falls_due_a_whole_interval_after_today(zone_a_day_off_utc, make_identity, alice):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    assert identity.attestation_due == timezone.localdate() + timedelta(days=identity.attestation_interval_days)


def test_an_identity_attested_falls_due_a_whole_interval_after_today(zone_a_day_off_utc, make_identity, alice):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    identity.attestation_due = timezone.localdate()
    identity.save(update_fields=["attestation_due"])
    identity_attest(actor=alice, identity=identity)
    identity.refresh_from_db()
    assert identity.attestation_due == timezone.localdate() + timedelta(days=identity.attestation_interval_days)


def test_an_attestation_confirmed_after_a_rejection_falls_due_a_whole_interval_after_its_day(zone_a_day_off_utc, make_identity, alice, rita):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    first = identity_attest(actor=alice, identity=identity, note="first")
    attestation_reject(actor=rita, attestation=first, reason="It holds contacts:write, yet its purpose says it only reads.")
    again = identity_attest(actor=alice, identity=identity, note="Fixed the scopes.")
    attestation_confirm(actor=rita, attestation=again)
    identity.refresh_from_db()
    assert identity.attestation_due == timezone.localdate(again.attested_at) + timedelta(days=identity.attestation_interval_days)
