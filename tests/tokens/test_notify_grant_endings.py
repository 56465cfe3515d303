"""manage.py notify_grant_endings: owners hear once, in time, that a grant ends, with a way to ask again."""

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command

from nhiportal.audit.models import AuditEvent
from tokens.models import Grant
from tokens.services import grant_revoke


def run() -> str:
    out = StringIO()
    call_command("notify_grant_endings", stdout=out)
    return out.getvalue()


def test_owners_hear_once_of_a_grant_ending_within_the_notice(alice, bob, make_agent, crm, grant):
    agent = make_agent(alice, backups=[bob])
    ending = grant(agent, crm, ["tickets:read"], days=3)
    grant(agent, crm, ["tickets:write"], days=30)  # not yet
    assert "Told 2 owner(s) about 1 grant(s) ending soon." in run()
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bob@example.com"]
    body = mail.outbox[0].body
    assert "tickets:read on CRM" in body and "tickets:write" not in body
    assert f"/access-requests/new/?identity={agent.identity.pk}&service={crm.pk}&scope=tickets%3Aread" in body
    ending.refresh_from_db()
    assert ending.ending_told_at is not None
    assert "about 0 grant(s)" in run() and len(mail.outbox) == 2


def test_a_revoked_grant_is_not_announced(alice, sam, agent, crm, grant):
    grant_revoke(actor=sam, grant=grant(agent, crm, ["tickets:read"], days=2), reason="not needed")
    assert "about 0 grant(s)" in run() and not mail.outbox


def test_if_mail_fails_the_next_run_tries_again(alice, agent, crm, grant, settings):
    grant(agent, crm, ["tickets:read"], days=2)
    settings.EMAIL_BACKEND = "tests.tokens.test_notify_approvals.RefusingBackend"
    with pytest.raises(ConnectionRefusedError):
        run()
    assert Grant.objects.get().ending_told_at is None
    assert AuditEvent.objects.get(action="grants.notify_ending_failed").reason == "mail server down"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "about 1 grant(s)" in run()
