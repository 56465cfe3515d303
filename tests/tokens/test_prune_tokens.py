from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from tokens.models import IssuedToken, Task, UsedAssertion
from tokens.revocation import task_end


def test_it_prunes_rows_expired_past_the_retention(agent, get_token, alice, settings, capsys):
    settings.NHI = {**settings.NHI, "TOKEN_RETENTION_DAYS": 7}
    old = get_token(agent)
    recent = get_token(agent)
    task_end(task=Task.objects.get(pk=old["task_id"]), actor=alice)
    long_ago = timezone.now() - timedelta(days=8)
    IssuedToken.objects.filter(task_id=old["task_id"]).update(expires_at=long_ago, issued_at=long_ago)
    Task.objects.filter(pk=old["task_id"]).update(ended_at=long_ago)
    UsedAssertion.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    call_command("prune_tokens")

    assert list(IssuedToken.objects.values_list("task_id", flat=True)) == [Task.objects.get(pk=recent["task_id"]).pk]
    assert not Task.objects.filter(pk=old["task_id"]).exists()
    assert not UsedAssertion.objects.exists()
    assert "Pruned 1 token rows, 1 ended tasks" in capsys.readouterr().out
    assert AuditEvent.objects.get(action="tokens.prune").actor_label == "system:prune_tokens"


def test_it_keeps_what_is_within_the_retention(agent, get_token):
    get_token(agent)
    IssuedToken.objects.update(expires_at=timezone.now() - timedelta(days=1))
    call_command("prune_tokens")
    assert IssuedToken.objects.count() == 1 and UsedAssertion.objects.count() == 1
    assert not AuditEvent.objects.filter(action="tokens.prune").exists()


def test_it_prunes_an_abandoned_open_task_once_its_tokens_are_gone(agent, get_token, settings):
    settings.NHI = {**settings.NHI, "TOKEN_RETENTION_DAYS": 7}
    abandoned = get_token(agent)
    long_ago = timezone.now() - timedelta(days=8)
    IssuedToken.objects.update(expires_at=long_ago, issued_at=long_ago)
    Task.objects.update(opened_at=long_ago)
    call_command("prune_tokens")
    assert not Task.objects.filter(pk=abandoned["task_id"]).exists()
