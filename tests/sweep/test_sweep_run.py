"""governance_sweep: every background job from one command, each when due, never twice at once."""

import os
import signal
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.checks import run_checks
from django.core.management import CommandError, call_command, get_commands
from django.db import connection
from django.utils import timezone

from inventory.claims import claim_create
from inventory.models import AIIdentity, Status
from nhiportal.compliance.models import ComplianceSnapshot
from nhiportal.sweep.models import SweepStep
from nhiportal.sweep.services import sweep_run
from nhiportal.sweep.steps import EVERY_SWEEP, STEPS
from tests.tokens.conftest import agent, crm, get_token, grant, make_agent, oauth  # noqa: F401
from tokens.models import IssuedToken


def sweep(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("governance_sweep", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_every_step_is_a_command_of_the_portal():
    assert {step.name for step in STEPS} <= set(get_commands())


def test_one_sweep_runs_every_step_and_does_their_work(agent, make_identity, alice, bob, get_token, settings):
    get_token(agent)
    # Arrange: an attestation lapsed past grace, an identity orphaned past grace, a ledger row
    # expired past retention.
    AIIdentity.objects.filter(pk=agent.identity.pk).update(
        attestation_due=timezone.localdate() - timedelta(days=settings.NHI["ATTESTATION_GRACE_DAYS"] + 1)
    )
    orphan = make_identity(bob, name="left-behind")
    AIIdentity.objects.filter(pk=orphan.pk).update(
        status=Status.ACTIVE, orphaned_since=timezone.now() - timedelta(days=settings.NHI["ORPHAN_GRACE_DAYS"] + 1)
    )
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    IssuedToken.objects.update(expires_at=timezone.now() - timedelta(days=settings.NHI["TOKEN_RETENTION_DAYS"] + 1))

    out, err = sweep()

    assert err == ""
    assert out.splitlines()[2] == "suspend_unattested: 1 suspended, 1 owner(s) told."
    assert [line.split(":")[0] for line in out.splitlines()] == [step.name for step in STEPS]
    agent.identity.refresh_from_db()
    orphan.refresh_from_db()
    assert agent.identity.status == Status.SUSPENDED and orphan.status == Status.SUSPENDED
    assert not IssuedToken.objects.exists()
    assert ComplianceSnapshot.objects.count() == 1
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    records = SweepStep.objects.all()
    assert len(records) == len(STEPS)
    assert all(r.succeeded and r.last_success_at and r.claimed_until is None for r in records)


def test_a_sweep_right_after_runs_only_the_steps_due_on_every_sweep(db):
    sweep()
    out, _ = sweep()
    ran = [line.split(":")[0] for line in out.splitlines()]
    assert ran == [step.name for step in STEPS if step.every == EVERY_SWEEP]
    assert ComplianceSnapshot.objects.count() == 1


def test_a_step_is_due_again_once_its_interval_has_passed(db):
    sweep()
    SweepStep.objects.filter(name="compliance_snapshot").update(slot_at=timezone.now() - timedelta(days=1, minutes=1))
    out, _ = sweep()
    assert "compliance_snapshot" in out and "prune_decisions" not in out
    assert ComplianceSnapshot.objects.count() == 2


def test_a_daily_step_the_sweep_noticed_late_keeps_its_hour_so_the_schedule_does_not_drift(db):
    sweep()
    slot = timezone.now() - timedelta(days=1, minutes=5)  # due five minutes before this sweep
    SweepStep.objects.filter(name="compliance_snapshot").update(slot_at=slot, last_success_at=slot + timedelta(seconds=2))
    out, _ = sweep()
    assert "compliance_snapshot" in out
    step = SweepStep.objects.get(name="compliance_snapshot")
    assert step.slot_at == slot + timedelta(days=1)  # the next is due at the same hour tomorrow
    assert step.last_success_at > step.slot_at  # while it says when it really ran


def test_a_step_missed_for_longer_than_its_interval_starts_afresh_when_it_runs(db):
    sweep()
    long_ago = timezone.now() - timedelta(days=3)
    SweepStep.objects.filter(name="compliance_snapshot").update(slot_at=long_ago, last_success_at=long_ago)
    before = timezone.now()
    sweep()
    step = SweepStep.objects.get(name="compliance_snapshot")
    assert step.slot_at >= before and step.slot_at == step.last_success_at  # not three runs to catch up


def test_a_step_another_sweeper_holds_is_skipped_until_its_lease_ends(db):
    SweepStep.objects.create(name="compliance_snapshot", claimed_until=timezone.now() + timedelta(minutes=5), claimed_by="other-host:1")
    out, _ = sweep()
    assert "compliance_snapshot" not in out and ComplianceSnapshot.objects.count() == 0

    # That sweeper died: once its lease ends, the next sweep takes the step over.
    SweepStep.objects.filter(name="compliance_snapshot").update(claimed_until=timezone.now() - timedelta(seconds=1))
    out, _ = sweep()
    assert "compliance_snapshot" in out and ComplianceSnapshot.objects.count() == 1


def test_a_failed_step_is_recorded_fails_the_command_and_runs_again_on_the_next_sweep(make_identity, alice, bob, rita, settings):
    orphan = make_identity(alice, name="ledger-bot")
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    claim_create(actor=bob, identity=orphan, reason="I took it over.")
    settings.EMAIL_BACKEND = "tests.tokens.test_notify_approvals.RefusingBackend"

    with pytest.raises(CommandError, match="1 step\\(s\\) failed: notify_claims"):
        sweep()

    failed = SweepStep.objects.get(name="notify_claims")
    assert failed.succeeded is False and "mail server down" in failed.output and failed.last_success_at is None
    assert SweepStep.objects.get(name="compliance_snapshot").succeeded  # later steps still ran

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    out, _ = sweep()
    assert "notify_claims: Announced 1 claim(s)" in out
    assert SweepStep.objects.get(name="notify_claims").succeeded is True


def test_only_the_named_steps_run(db):
    out, _ = sweep("--step", "compliance_snapshot", "--step", "prune_tokens")
    assert [line.split(":")[0] for line in out.splitlines()] == ["prune_tokens", "compliance_snapshot"]


def test_a_loop_sweeps_until_a_service_manager_stops_it(db):
    before = signal.getsignal(signal.SIGTERM)
    threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGTERM)).start()
    out, _ = sweep("--loop", "30")
    assert out.count("compliance_snapshot:") == 1
    assert all(record.succeeded for record in SweepStep.objects.all())
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.django_db(transaction=True)
def test_a_loop_outlives_a_database_error_and_sweeps_again():
    def restore():
        with connection.schema_editor() as editor:
            editor.create_model(SweepStep)
        connection.close()

    with connection.schema_editor() as editor:  # the next sweep meets a database that fails
        editor.delete_model(SweepStep)
    threading.Timer(0.3, restore).start()
    threading.Timer(1.8, os.kill, args=(os.getpid(), signal.SIGTERM)).start()
    out, err = sweep("--loop", "1")
    assert "sweep interrupted by the database" in err
    assert "compliance_snapshot:" in out  # the sweep a second later ran
    assert SweepStep.objects.filter(succeeded=True).count() == len(STEPS)


def test_a_loop_shorter_than_a_second_is_refused(db):
    with pytest.raises(CommandError, match="at least 1"):
        sweep("--loop", "0.1")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweepers_never_run_a_step_twice():
    start = threading.Barrier(4)
    ran = []

    def sweeper():
        try:
            start.wait()
            ran.extend(run.step for run in sweep_run() if run.ran)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert set(ran) == {step.name for step in STEPS}
    # A step with an interval runs once; the others run on each sweep, so up to once per sweeper.
    assert all(ran.count(step.name) == 1 for step in STEPS if step.every != EVERY_SWEEP)
    assert ComplianceSnapshot.objects.count() == 1


def test_a_key_age_under_a_day_is_refused_at_start(settings):
    settings.NHI = {**settings.NHI, "SIGNING_KEY_MAX_AGE_DAYS": 0}
    assert [e.id for e in run_checks()] == ["sweep.E001"]
