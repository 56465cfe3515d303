"""manage.py notify_approvals: the people who decide hear of each waiting task once; owners do not."""

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command

from nhiportal.audit.models import AuditEvent
from nhiportal.audit.services import system_actor
from nhiportal.people.roles import OWNER
from nhiportal.people.services import role_assign
from tokens.approvals import task_approve
from tokens.models import ApprovalNotice, Task

from .conftest import token_request

EXPORT = "customers:export"


class RefusingBackend(BaseEmailBackend):
    """An SMTP server that is down."""

    def send_messages(self, messages):
        if not messages:
            return 0  # as Django's SMTP backend: with nothing to send it never connects
        raise ConnectionRefusedError("mail server down")


@pytest.fixture
def waiting(make_agent, crm, grant, oauth):
    def ask(owner, name):
        agent = make_agent(owner, autonomy="autonomous", name=name)
        grant(agent, crm, [EXPORT])
        body = token_request(oauth, agent, scope=EXPORT).json()
        assert body["error"] == "authorization_pending", body
        return Task.objects.get(pk=body["task_id"])

    return ask


def run() -> str:
    from io import StringIO

    out = StringIO()
    call_command("notify_approvals", stdout=out)
    return out.getvalue()


def test_reviewers_and_admins_get_one_digest_each_and_owners_none(waiting, alice, rita, sam, settings):
    task = waiting(alice, "exporter")
    settings.NHI = {**settings.NHI, "ISSUER": "https://nhi.example.com"}
    assert "Announced 1 waiting task(s) to 2 person(s)" in run()
    assert sorted(m.to[0] for m in mail.outbox) == ["rita@example.com", "sam@example.com"]
    assert mail.outbox[0].subject == "[NHI Portal] 1 agent task waits for your approval"
    body = mail.outbox[0].body
    assert "exporter asks for customers:export on CRM" in body and f"https://nhi.example.com/approvals/{task.pk}/" in body
    assert ApprovalNotice.objects.get(task=task).recipients == 2
    assert AuditEvent.objects.filter(action="approvals.notify").count() == 1


def test_each_task_is_announced_once(waiting, alice, rita):
    waiting(alice, "exporter")
    run()
    assert len(mail.outbox) == 2  # rita and sam
    assert "Announced 0" in run() and len(mail.outbox) == 2
    waiting(alice, "second")
    run()
    latest = mail.outbox[2:]
    assert len(latest) == 2 and all("second" in m.body and "exporter" not in m.body for m in latest)


def test_a_reviewer_is_not_told_of_their_own_agents_task(waiting, rita, sam):
    role_assign(user=rita, role=OWNER, actor=system_actor("tests"))  # a reviewer who also owns an agent (only owners are made owners)
    waiting(rita, "ritas-exporter")
    run()
    assert [m.to for m in mail.outbox] == [["sam@example.com"]]


def test_decided_tasks_are_not_announced(waiting, alice, rita):
    task_approve(actor=rita, task=waiting(alice, "exporter"), minutes=5)
    assert "Announced 0" in run() and mail.outbox == []


def test_if_mail_fails_the_next_run_tries_again(waiting, alice, rita, settings):
    waiting(alice, "exporter")
    settings.EMAIL_BACKEND = "tests.tokens.test_notify_approvals.RefusingBackend"
    with pytest.raises(ConnectionRefusedError):
        run()
    assert not ApprovalNotice.objects.exists()
    assert AuditEvent.objects.get(action="approvals.notify_failed").reason == "mail server down"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "Announced 1" in run() and sorted(m.to[0] for m in mail.outbox) == ["rita@example.com", "sam@example.com"]
