"""manage.py notify_access_requests: each stage's deciders hear once; the requester never."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from tokens.access_requests import access_request_approve, access_request_create
from tokens.models import AccessRequest


def run() -> str:
    out = StringIO()
    call_command("notify_access_requests", stdout=out)
    return out.getvalue()


def ask(actor, identity, service):
    return access_request_create(
        actor=actor, identity=identity, service=service, scopes=["tickets:read"],
        ends_at=timezone.now() + timedelta(days=7), justification="Drafts replies.",
    )


def recipients():
    return sorted(m.to[0] for m in mail.outbox)


def test_the_service_stage_is_announced_to_its_deciders_but_not_to_owners_or_the_requester(alice, bob, rita, sam, make_agent, crm):
    agent = make_agent(alice, backups=[bob])
    ask(alice, agent.identity, crm)
    assert "Cancelled 0 past its end date; announced 1 access request(s) to 2 person(s)." in run()
    assert recipients() == ["rita@example.com", "sam@example.com"]  # sam also owns the CRM
    assert mail.outbox[0].subject == "[NHI Portal] 1 access request waits for your decision"
    assert "asks for tickets:read on CRM" in mail.outbox[0].body and "/access-requests/" in mail.outbox[0].body
    assert "announced 0" in run() and len(mail.outbox) == 2


def test_each_stage_is_announced_to_its_own_deciders(alice, bob, rita, sam, make_agent, crm):
    agent = make_agent(alice, backups=[bob])
    request = ask(sam, agent.identity, crm)
    run()
    assert recipients() == ["alice@example.com", "bob@example.com"]  # the owners vouch first
    mail.outbox.clear()
    access_request_approve(actor=alice, access_request=request)
    run()
    assert recipients() == ["rita@example.com"]  # sam asked; alice and bob own it


def test_if_mail_fails_the_next_run_tries_again(alice, agent, crm, settings):
    request = ask(alice, agent.identity, crm)
    settings.EMAIL_BACKEND = "tests.tokens.test_notify_approvals.RefusingBackend"
    with pytest.raises(ConnectionRefusedError):
        run()
    assert AccessRequest.objects.get(pk=request.pk).announced_state == ""
    assert AuditEvent.objects.get(action="access_requests.notify_failed").reason == "mail server down"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "announced 1" in run()


def test_a_request_whose_end_date_passed_undecided_is_cancelled_and_not_announced(alice, agent, crm):
    request = ask(alice, agent.identity, crm)
    AccessRequest.objects.filter(pk=request.pk).update(ends_at=timezone.now() - timedelta(minutes=1))
    assert "Cancelled 1 past its end date; announced 0" in run() and not mail.outbox
    request.refresh_from_db()
    assert request.state == "cancelled" and request.decision_reason == "Its end date passed before anyone decided."
    assert AuditEvent.objects.filter(action="access_requests.lapse").count() == 1
