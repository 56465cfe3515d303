"""Pruning the token ledger (tokens/ledger.py) records each batch it deletes in that batch's
own transaction, so a run stopped part-way leaves no deletion unrecorded."""

from datetime import timedelta

from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from nhiportal.audit.services import system_actor
from tokens import ledger
from tokens.models import IssuedToken, Task


def test_each_pruned_batch_commits_with_its_own_audit_event(agent, get_token, settings, monkeypatch):
    settings.NHI = {**settings.NHI, "TOKEN_RETENTION_DAYS": 7}
    for _ in range(3):
        get_token(agent)
    long_ago = timezone.now() - timedelta(days=8)
    IssuedToken.objects.update(expires_at=long_ago, issued_at=long_ago)
    Task.objects.update(opened_at=long_ago)
    monkeypatch.setattr(ledger, "BATCH", 2)  # three tokens and three tasks: two batches

    counts = ledger.ledger_prune(actor=system_actor("prune_tokens"))

    assert (counts["tokens"], counts["tasks"]) == (3, 3)
    events = list(AuditEvent.objects.filter(action="tokens.prune").order_by("id").values_list("after", flat=True))
    assert [(e["tokens"], e["tasks"]) for e in events] == [(2, 2), (1, 1)]
    assert not IssuedToken.objects.exists() and not Task.objects.exists()


def test_a_prune_with_nothing_to_delete_writes_no_audit_event(agent, get_token):
    get_token(agent)
    counts = ledger.ledger_prune(actor=system_actor("prune_tokens"))
    assert (counts["tokens"], counts["tasks"]) == (0, 0)
    assert not AuditEvent.objects.filter(action="tokens.prune").exists()
