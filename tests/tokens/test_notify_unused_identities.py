"""manage.py notify_unused_identities: owners hear once that an agent of theirs obtains no token, with a way to offboard it."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from inventory.models import AIIdentity
from inventory.services import identity_reactivate, identity_suspend
from nhiportal.audit.models import AuditEvent
from nhiportal.people.roles import OWNER
from tests.conftest import _person
from tokens.models import IssuedToken

from .conftest import token_request

pytestmark = pytest.mark.django_db


def run() -> str:
    out = StringIO()
    call_command("notify_unused_identities", stdout=out)
    return out.getvalue()


def _active_since(identity, days):
    AIIdentity.objects.filter(pk=identity.pk).update(status_changed_at=timezone.now() - timedelta(days=days))


def test_owners_hear_once_of_an_agent_nothing_uses(alice, bob, make_agent):
    idle = make_agent(alice, backups=[bob], name="gone-quiet")
    _active_since(idle.identity, 40)
    fresh = make_agent(alice)
    _active_since(fresh.identity, 10)  # not judged yet
    make_agent(_person("dave", OWNER))  # active since now, and not hers
    assert "Told 2 owner(s) about 1 unused identit(ies)." in run()
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bob@example.com"]
    message = mail.outbox[0]
    assert message.subject == "[NHI Portal] 1 of your agents goes unused"
    assert "- gone-quiet: active since" in message.body
    assert f"/identities/{idle.identity.pk}/offboard/" in message.body
    assert fresh.identity.name not in message.body
    assert "about 0 unused identit(ies)" in run() and len(mail.outbox) == 2
    assert AuditEvent.objects.get(action="identities.notify_unused").after == {"identities": 1, "people": 2}


def test_an_agent_used_after_the_notice_then_idle_again_is_told_again(alice, make_agent, crm, grant, oauth):
    agent = make_agent(alice)
    _active_since(agent.identity, 80)
    grant(agent, crm, ["tickets:read"], starts_at=timezone.now() - timedelta(days=80), days=120)
    run()
    assert len(mail.outbox) == 1
    assert token_request(oauth, agent).status_code == 200  # used again after the notice
    assert "about 0 unused identit(ies)" in run()  # in use: nothing to tell
    IssuedToken.objects.update(issued_at=timezone.now() - timedelta(days=31))  # ... and idle since
    AIIdentity.objects.filter(pk=agent.identity.pk).update(unused_told_at=timezone.now() - timedelta(days=40))
    assert "about 1 unused identit(ies)" in run() and len(mail.outbox) == 2


def test_a_reactivated_agent_that_goes_unused_again_is_told_again(alice, make_agent):
    agent = make_agent(alice)
    _active_since(agent.identity, 40)
    run()
    identity_suspend(actor=alice, identity=agent.identity, reason="Paused.")
    identity_reactivate(actor=alice, identity=AIIdentity.objects.get(pk=agent.identity.pk))
    assert "about 0 unused identit(ies)" in run()  # active for less than the window
    _active_since(agent.identity, 35)  # a new spell, after the first notice
    AIIdentity.objects.filter(pk=agent.identity.pk).update(unused_told_at=timezone.now() - timedelta(days=60))
    assert "about 1 unused identit(ies)" in run() and len(mail.outbox) == 2


def test_a_refused_mail_withdraws_the_claim_so_the_next_run_tries_again(alice, make_agent, settings):
    agent = make_agent(alice)
    _active_since(agent.identity, 40)
    settings.EMAIL_BACKEND = "tests.tokens.test_notify_approvals.RefusingBackend"
    with pytest.raises(ConnectionRefusedError):  # the sweep records the step as failed
        run()
    assert AIIdentity.objects.get(pk=agent.identity.pk).unused_told_at is None
    assert AuditEvent.objects.get(action="identities.notify_unused_failed").reason == "mail server down"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "about 1 unused identit(ies)" in run() and len(mail.outbox) == 1
