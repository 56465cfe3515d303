"""manage.py notify_campaigns: owners hear once per campaign what it asks of them."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from inventory.campaigns import campaign_close, campaign_launch
from inventory.models import Campaign
from inventory.services import identity_activate, identity_attest, identity_offboard
from nhiportal.audit.models import AuditEvent


def run() -> str:
    out = StringIO()
    call_command("notify_campaigns", stdout=out)
    return out.getvalue()


@pytest.fixture
def launched(make_identity, alice, bob, rita):
    mine = identity_activate(actor=alice, identity=make_identity(alice, name="crm-bot", backups=[bob]))
    identity_activate(actor=alice, identity=make_identity(alice, name="ledger-bot"))
    return campaign_launch(actor=rita, name="Q4", due=timezone.localdate() + timedelta(days=10), instructions="Check the grants too."), mine


def test_each_owner_gets_one_digest_of_their_identities(launched):
    campaign, _ = launched
    assert "Announced 1 campaign(s) to 2 owner(s);" in run()
    by_person = {m.to[0]: m for m in mail.outbox}
    assert set(by_person) == {"alice@example.com", "bob@example.com"}
    assert "crm-bot" in by_person["alice@example.com"].body and "ledger-bot" in by_person["alice@example.com"].body
    assert "ledger-bot" not in by_person["bob@example.com"].body and "Check the grants too." in by_person["bob@example.com"].body
    campaign.refresh_from_db()
    assert campaign.announced_at is not None and campaign.owners_told == 2
    assert AuditEvent.objects.filter(action="campaigns.notify").count() == 1


def test_a_campaign_is_announced_once_and_a_closed_one_never(launched, rita):
    run()
    assert "Announced 0 campaign(s)" in run() and len(mail.outbox) == 2
    later = campaign_launch(actor=rita, name="Closed early", due=timezone.localdate() + timedelta(days=5))
    campaign_close(actor=rita, campaign=later)
    assert "Announced 0 campaign(s)" in run()


def test_if_mail_fails_the_next_run_tries_again(launched, settings):
    campaign, _ = launched
    settings.EMAIL_BACKEND = "tests.tokens.test_notify_approvals.RefusingBackend"
    with pytest.raises(ConnectionRefusedError):
        run()
    campaign.refresh_from_db()
    assert campaign.announced_at is None
    assert AuditEvent.objects.get(action="campaigns.notify_failed").reason == "mail server down"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "Announced 1 campaign(s) to 2 owner(s);" in run()


def test_an_identity_offboarded_since_the_launch_is_not_in_the_mail(launched, alice):
    campaign, mine = launched
    identity_offboard(actor=alice, identity=mine, reason="retired")
    run()
    assert all("crm-bot" not in m.body for m in mail.outbox) and any("ledger-bot" in m.body for m in mail.outbox)


def test_owners_still_asked_are_reminded_once_as_the_due_date_nears(launched, alice, rita):
    campaign, mine = launched
    run()
    assert "reminded 0 owner(s)" in run()  # ten days out: too early
    identity_attest(actor=alice, identity=mine)  # crm-bot answered; ledger-bot still waits
    Campaign.objects.filter(pk=campaign.pk).update(due=timezone.localdate() + timedelta(days=2))
    mail.outbox.clear()
    assert "reminded 1 owner(s) of 1 campaign(s) due soon." in run()
    assert [m.to[0] for m in mail.outbox] == ["alice@example.com"]  # bob's only identity was answered
    assert mail.outbox[0].subject.startswith("[NHI Portal] Reminder: attest 1 identity") and "ledger-bot" in mail.outbox[0].body
    assert "reminded 0 owner(s)" in run() and len(mail.outbox) == 1
