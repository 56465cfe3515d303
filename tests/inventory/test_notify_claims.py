"""manage.py notify_claims: reviewers and security admins hear of each claim once, never its claimant."""

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command

from inventory.claims import claim_create
from inventory.models import OwnershipClaim
from nhiportal.audit.models import AuditEvent
from nhiportal.audit.services import system_actor
from nhiportal.people.roles import OWNER
from nhiportal.people.services import role_assign


def run() -> str:
    out = StringIO()
    call_command("notify_claims", stdout=out)
    return out.getvalue()


@pytest.fixture
def orphan(make_identity, alice):
    identity = make_identity(alice, name="ledger-bot")
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    return identity


def test_reviewers_and_admins_hear_once_and_the_claimant_never(orphan, bob, rita, sam):
    claim_create(actor=bob, identity=orphan, reason="I took it over.")
    role_assign(user=rita, role=OWNER, actor=system_actor("tests"))  # a reviewer claims as an owner
    claim_create(actor=rita, identity=orphan, reason="My team runs it.")
    assert "Announced 2 claim(s) to 2 person(s)." in run()
    by = {m.to[0]: m.body for m in mail.outbox}
    assert set(by) == {"rita@example.com", "sam@example.com"}
    assert "bob claims ledger-bot" in by["rita@example.com"] and "rita claims" not in by["rita@example.com"]
    assert "rita claims ledger-bot" in by["sam@example.com"]
    assert "Announced 0" in run() and len(mail.outbox) == 2


def test_if_mail_fails_the_next_run_tries_again(orphan, bob, rita, settings):
    claim_create(actor=bob, identity=orphan, reason="I took it over.")
    settings.EMAIL_BACKEND = "tests.tokens.test_notify_approvals.RefusingBackend"
    with pytest.raises(ConnectionRefusedError):
        run()
    assert OwnershipClaim.objects.get().announced_at is None
    assert AuditEvent.objects.get(action="claims.notify_failed").reason == "mail server down"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "Announced 1" in run()
