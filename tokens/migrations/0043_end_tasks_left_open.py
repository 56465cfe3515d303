"""End the tasks earlier versions left open that can no longer be worked on.

Suspending an identity now ends its open tasks, and ending a delegation ends the sub-tasks
the delegate opened under it (tokens/revocation.py, tokens/delegations.py); before, both
stayed open, so an agent reactivated later, or a helper whose delegation had ended, could
still join one by its task_id. This ends, once, every open task of a suspended or offboarded
identity and every open sub-task a delegate holds under another identity's task without the
delegation it was opened under, with their own sub-tasks, revoking the tokens in them. Each
ending is a `task.end` event by `system:migrate`, as an owner ending a task is.
"""

from django.db import migrations
from django.db.models import F
from django.utils import timezone

LABEL = "system:migrate"
OUT_OF_SERVICE = "Identity suspended or offboarded before tasks ended with it (migration tokens 0043)."
DELEGATION_ENDED = "Delegation ended before its sub-tasks ended with it (migration tokens 0043)."


def end_tasks_left_open(apps, schema_editor):
    Task = apps.get_model("tokens", "Task")
    IssuedToken = apps.get_model("tokens", "IssuedToken")
    Delegation = apps.get_model("tokens", "Delegation")
    open_tasks = Task.objects.filter(ended_at__isnull=True)
    ending = {
        pk: OUT_OF_SERVICE
        for pk in open_tasks.filter(identity__status__in=("suspended", "offboarded")).values_list("pk", flat=True)
    }
    delegated = (
        open_tasks.filter(parent__isnull=False).exclude(parent__identity_id=F("identity_id"))
        .values_list("pk", "identity_id", "parent__identity_id", "opened_at")
    )
    for pk, delegate_id, principal_id, opened_at in delegated:
        lent = Delegation.objects.filter(
            principal_id=principal_id, delegate_id=delegate_id, revoked_at__isnull=True, created_at__lte=opened_at,
        )
        if pk not in ending and not lent.exists():
            ending[pk] = DELEGATION_ENDED
    if not ending:
        return
    now = timezone.now()
    ended = []
    for pk, reason in ending.items():
        tree, frontier = [pk], [pk]
        while frontier:
            frontier = list(Task.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
            tree.extend(frontier)
        if not Task.objects.filter(pk=pk, ended_at__isnull=True).exists():
            continue  # ended above, as the sub-task of another
        Task.objects.filter(pk__in=tree, ended_at__isnull=True).update(ended_at=now, ended_by_label=LABEL, end_reason=reason)
        revoked = IssuedToken.objects.filter(task_id__in=tree, revoked_at__isnull=True, expires_at__gt=now).update(
            revoked_at=now, revoked_by_label=LABEL, revoke_reason=reason[:200],
        )
        ended.append((Task.objects.get(pk=pk), revoked, reason))
    # Imported only when there is a task to record: the audit chain and its signature are the
    # audit app's to write (as inventory 0017 does).
    from nhiportal.audit.services import audit_record, system_actor

    for task, revoked, reason in ended:
        audit_record(
            actor=system_actor("migrate"), action="task.end", object_type="tokens.task", object_id=str(task.pk),
            object_repr=f"task {task.pk}", identity=task.identity_id, after={"ended_at": now, "tokens_revoked": revoked},
            reason=reason,
        )


class Migration(migrations.Migration):

    dependencies = [
        ("tokens", "0042_grant_expiry_reported_at"),
        ("inventory", "0018_ownership_notified_at"),
        ("audit", "0003_leaner_event_indexes"),
    ]

    operations = [
        migrations.RunPython(end_tasks_left_open, migrations.RunPython.noop, elidable=True),
    ]
