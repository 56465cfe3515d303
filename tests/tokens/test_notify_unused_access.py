"""manage.py notify_unused_access: owners hear once per grant that its scopes go unused, with a way to remove them."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from tokens.models import Grant, IssuedToken
from tokens.services import grant_reduce

from .conftest import token_request

pytestmark = pytest.mark.django_db


def run() -> str:
    out = StringIO()
    call_command("notify_unused_access", stdout=out)
    return out.getvalue()


def check_usage():
    call_command("grant_usage", stdout=StringIO())


@pytest.fixture
def old_grant(grant, crm):
    def give(agent, scopes=("tickets:read", "tickets:write")):
        return grant(agent, crm, list(scopes), starts_at=timezone.now() - timedelta(days=40))

    return give


def test_owners_hear_once_of_a_grant_going_unused(alice, bob, make_agent, old_grant, grant, crm, oauth):
    agent = make_agent(alice, backups=[bob])
    unused = old_grant(agent)
    grant(agent, crm, ["customers:export"])  # new: not judged
    assert token_request(oauth, agent, scope="tickets:read").status_code == 200
    assert "about 0 unused grant(s)" in run()  # nothing checked yet: nothing to tell
    check_usage()
    assert "Told 2 owner(s) about 1 unused grant(s)." in run()
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bob@example.com"]
    message = mail.outbox[0]
    assert message.subject == "[NHI Portal] 1 grant of your agents goes unused"
    assert "tickets:write on CRM" in message.body and "tickets:read" not in message.body.split("- ")[1]
    assert f"/grants/{unused.pk}/reduce/" in message.body
    check_usage()
    assert "about 0 unused grant(s)" in run() and len(mail.outbox) == 2
    assert AuditEvent.objects.get(action="grants.notify_unused").after == {"grants": 1, "people": 2}


def test_a_grant_used_again_then_unused_again_is_told_again(alice, agent, old_grant, oauth):
    unused = old_grant(agent)
    check_usage()
    run()
    assert token_request(oauth, agent, scope="tickets:read tickets:write").status_code == 200
    check_usage()
    assert Grant.objects.get(pk=unused.pk).unused_told_at is None
    IssuedToken.objects.update(issued_at=timezone.now() - timedelta(days=31))  # a month of silence
    check_usage()
    assert "about 1 unused grant(s)" in run()


def test_removing_the_unused_scopes_leaves_nothing_to_tell(alice, agent, old_grant, oauth):
    unused = old_grant(agent)
    assert token_request(oauth, agent, scope="tickets:read").status_code == 200
    check_usage()
    grant_reduce(actor=alice, grant=unused, remove=["tickets:write"], reason="Unused.")
    assert "about 0 unused grant(s)" in run() and not mail.outbox


def test_if_mail_fails_the_next_run_tries_again(alice, agent, old_grant, settings):
    unused = old_grant(agent)
    check_usage()
    settings.EMAIL_BACKEND = "tests.tokens.test_notify_approvals.RefusingBackend"
    with pytest.raises(ConnectionRefusedError):
        run()
    assert Grant.objects.get(pk=unused.pk).unused_told_at is None
    assert AuditEvent.objects.get(action="grants.notify_unused_failed").reason == "mail server down"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "about 1 unused grant(s)" in run()
