"""A grant that runs out is news too: the sweep's report_expired_grants writes one grant.expired
event per grant whose end passed (tokens/services.grants_expired_report), once, so the
identity's history and the SIEM (webhooks, the audit export) see access end by itself as they
see it revoked."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from tokens.models import Grant
from tokens.services import grant_revoke

from .test_credential_last_token_index import plan_of


def run_out(*grants, ago=timedelta(minutes=1)) -> None:
    """Arrange: these grants' end dates passed `ago`."""
    Grant.objects.filter(pk__in=[g.pk for g in grants]).update(ends_at=timezone.now() - ago)


def sweep() -> str:
    out = StringIO()
    call_command("governance_sweep", "--step", "report_expired_grants", stdout=out)
    return out.getvalue()


def test_the_sweep_reports_each_grant_that_ran_out_once_in_the_identitys_history(client_for, alice, agent, crm, grant):
    lapsed, live = grant(agent, crm, ["tickets:read"]), grant(agent, crm, ["tickets:write"])
    run_out(lapsed)

    assert "report_expired_grants: 1 grant ran out since the last run." in sweep()

    event = AuditEvent.objects.get(action="grant.expired")
    assert event.object_id == str(lapsed.pk) and event.identity_id == agent.identity.pk
    assert event.actor_label == "system:report_expired_grants"
    assert event.object_repr == f"grant #{lapsed.pk}: tickets:read on CRM for {agent.identity.name}"
    assert event.before == {"state": "live"} and event.after["state"] == "expired" and event.after["scopes"] == ["tickets:read"]
    history = client_for(alice).get(f"/api/v1/identities/{agent.identity.pk}/history/").json()["results"]
    assert [e["action"] for e in history if e["action"] == "grant.expired"] == ["grant.expired"]
    # Once: a later sweep, or the command run by hand beside it, reports it no more.
    assert "report_expired_grants: 0 grants ran out" in sweep()
    call_command("report_expired_grants", stdout=StringIO())
    assert AuditEvent.objects.filter(action="grant.expired").count() == 1
    Grant.objects.filter(pk=live.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    call_command("report_expired_grants", stdout=StringIO())
    assert list(AuditEvent.objects.filter(action="grant.expired").values_list("object_id", flat=True).order_by("id")) == [
        str(lapsed.pk), str(live.pk),
    ]


def test_a_grant_revoked_before_its_end_is_not_reported_expired(sam, agent, crm, grant):
    revoked = grant(agent, crm, ["tickets:read"])
    grant_revoke(actor=sam, grant=revoked, reason="Not needed.")
    run_out(revoked)
    call_command("report_expired_grants", stdout=StringIO())
    assert not AuditEvent.objects.filter(action="grant.expired").exists()


def test_finding_the_grants_to_report_reads_an_index_of_the_unreported(db):
    unreported = Grant.objects.filter(revoked_at__isnull=True, expiry_reported_at__isnull=True, ends_at__lte=timezone.now())
    plan = plan_of(unreported.order_by("ends_at", "pk"))
    assert "grant_expiry_unreported_idx" in plan


@pytest.mark.django_db(transaction=True)
def test_upgrading_counts_the_grants_that_ran_out_before_as_reported(agent, crm, grant):
    """Else the first sweep after the upgrade would report every grant that ever ran out."""
    old, live = grant(agent, crm, ["tickets:read"]), grant(agent, crm, ["tickets:write"])
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("tokens", "0041_task_approved_at")])
        run_out(old, ago=timedelta(days=90))
        executor = MigrationExecutor(connection)
        executor.migrate([("tokens", "0042_grant_expiry_reported_at")])
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    old.refresh_from_db()
    live.refresh_from_db()
    assert old.expiry_reported_at == old.ends_at and live.expiry_reported_at is None
    call_command("report_expired_grants", stdout=StringIO())
    assert not AuditEvent.objects.filter(action="grant.expired").exists()
