"""suspend_orphans: when the owner ends, access ends, after a grace period to claim the identity."""

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from inventory.claims import claim_approve, claim_create
from inventory.models import Status
from inventory.orphans import orphans_review, suspension_due
from nhiportal.audit.models import AuditEvent
from nhiportal.audit.services import system_actor
from tests.tokens.conftest import agent, crm, get_token, grant, make_agent, oauth  # noqa: F401
from tokens.models import IssuedToken

ACTOR = system_actor("tests")


def leave(person):
    person.is_active = False
    person.save(update_fields=["is_active"])


def test_a_leavers_identity_is_noted_then_suspended_after_the_grace_period_and_its_tokens_revoked(agent, alice, get_token, settings):
    get_token(agent)
    leave(alice)
    now = timezone.now()
    assert orphans_review(actor=ACTOR, now=now) == {"newly_orphaned": 1, "owned_again": 0, "suspended": 0}
    agent.identity.refresh_from_db()
    assert agent.identity.orphaned_since == now and agent.identity.status == Status.ACTIVE
    assert suspension_due(agent.identity) == now + timedelta(days=settings.NHI["ORPHAN_GRACE_DAYS"])

    later = now + timedelta(days=settings.NHI["ORPHAN_GRACE_DAYS"], minutes=1)
    assert orphans_review(actor=ACTOR, now=later)["suspended"] == 1
    agent.identity.refresh_from_db()
    assert agent.identity.status == Status.SUSPENDED and "No active owner since" in agent.identity.status_reason
    assert not IssuedToken.objects.filter(identity=agent.identity, revoked_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action="identity.suspend", identity_id=agent.identity.pk, actor_label="system:tests").count() == 1


def test_an_identity_claimed_within_the_grace_period_stays_active(agent, alice, bob, rita, settings):
    leave(alice)
    now = timezone.now()
    orphans_review(actor=ACTOR, now=now)
    claim_approve(actor=rita, claim=claim_create(actor=bob, identity=agent.identity, reason="My team runs it now."))
    result = orphans_review(actor=ACTOR, now=now + timedelta(days=settings.NHI["ORPHAN_GRACE_DAYS"] + 1))
    assert result == {"newly_orphaned": 0, "owned_again": 1, "suspended": 0}
    agent.identity.refresh_from_db()
    assert agent.identity.orphaned_since is None and agent.identity.status == Status.ACTIVE


def test_identities_with_an_active_owner_are_left_alone(agent, make_identity, alice, bob):
    backed_up = make_identity(alice, backups=[bob])
    leave(alice)
    orphans_review(actor=ACTOR)
    backed_up.refresh_from_db()
    assert backed_up.orphaned_since is None


def test_the_command_reports_what_it_did(agent, alice):
    leave(alice)
    out = StringIO()
    call_command("suspend_orphans", stdout=out)
    assert out.getvalue().strip() == "1 newly orphaned, 0 owned again, 0 suspended."
    assert AuditEvent.objects.filter(action="orphans.review").count() == 1
    call_command("suspend_orphans", stdout=StringIO())
    assert AuditEvent.objects.filter(action="orphans.review").count() == 1  # nothing changed, nothing recorded


def test_a_zero_grace_period_suspends_on_the_first_run(agent, alice, settings):
    settings.NHI = {**settings.NHI, "ORPHAN_GRACE_DAYS": 0}
    leave(alice)
    assert orphans_review(actor=ACTOR)["suspended"] == 1
