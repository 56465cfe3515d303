"""Owner notices through Django's real SMTP backend when the mail server misbehaves: the sweep
step fails visibly, and a row is marked told only if its owner's mail went."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.mail import BadHeaderError, EmailMessage
from django.core.management import CommandError, call_command
from django.utils import timezone

from inventory.models import AIIdentity
from nhiportal.audit.models import AuditEvent
from nhiportal.mail import send_claimed
from nhiportal.sweep.models import SweepStep
from tests.smtp_server import SMTPServer, closed_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_TIMEOUT = "127.0.0.1", 2
    return settings


@pytest.fixture
def unused_agents(alice, bob, make_agent):
    make_agent(alice, name="alices-agent")
    make_agent(bob, name="bobs-agent")
    AIIdentity.objects.update(status_changed_at=timezone.now() - timedelta(days=40))


def sweep():
    call_command("governance_sweep", "--step", "notify_unused_identities", stdout=StringIO(), stderr=StringIO())


def told() -> dict:
    return {name: at is not None for name, at in AIIdentity.objects.values_list("name", "unused_told_at")}


def test_a_closed_mail_port_fails_the_sweep_step_and_marks_no_one_told(smtp, unused_agents):
    smtp.EMAIL_PORT = closed_port()
    with pytest.raises(CommandError, match="notify_unused_identities"):
        sweep()
    step = SweepStep.objects.get(name="notify_unused_identities")
    assert step.succeeded is False and "Connection refused" in step.output
    assert told() == {"alices-agent": False, "bobs-agent": False}
    assert AuditEvent.objects.filter(action="identities.notify_unused_failed").count() == 1


def test_one_refused_mailbox_leaves_the_others_told_and_only_its_rows_for_the_next_run(smtp, unused_agents):
    server = SMTPServer(refused={"bob@example.com"})
    smtp.EMAIL_PORT = server.port
    try:
        with pytest.raises(CommandError, match="notify_unused_identities"):
            sweep()
        assert server.delivered == [["alice@example.com"]]
        assert told() == {"alices-agent": True, "bobs-agent": False}
        failed = AuditEvent.objects.get(action="identities.notify_unused_failed")
        assert failed.after == {"identities": 1} and "bob@example.com" in failed.reason

        server.refused.clear()  # bob's mailbox is back: only he is mailed, alice not again
        sweep()
        assert server.delivered == [["alice@example.com"], ["bob@example.com"]]
        assert told() == {"alices-agent": True, "bobs-agent": True}
    finally:
        server.stop()


def test_a_mail_that_cannot_be_written_fails_alone_and_the_others_go(settings):
    """A header Django refuses (a line break in it) is that one mail's failure, as a refused
    mailbox is: the mails after it still go, and only its claim is withdrawn."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    messages = [
        EmailMessage(subject="first", body="x", to=["a@example.com"]),
        EmailMessage(subject="broken", body="x", to=["b@example.com"], headers={"X-Note": "one\nBcc: c@example.com"}),
        EmailMessage(subject="third", body="x", to=["d@example.com"]),
    ]
    withdrawn = []
    with pytest.raises(BadHeaderError):
        send_claimed(messages, withdraw=lambda error: withdrawn.append("all"), withdraw_unsent=lambda error, unsent: withdrawn.append(unsent))
    assert [m.subject for m in mail.outbox] == ["first", "third"] and withdrawn == [[1]]
