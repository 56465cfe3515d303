"""Human in the loop: a task that policy allows only with a person's approval waits for one.

When policy denies a new task only because no person approved it (the default policy does
so for an autonomous agent asking for a consequential scope), and policy lets the agent ask
(action "approve"), the portal opens the task as pending and answers the agent
`authorization_pending` with the task's id. A reviewer or security admin who does not own the
identity approves it for a window, or rejects it, in the browser or the API. The agent then
asks again with `task_id`; its tokens for that task expire when the window does. The approval
covers that task (and its sub-tasks) alone.
"""

from collections import defaultdict
from dataclasses import replace
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from inventory import visibility
from inventory.models import Ownership, Status
from nhiportal.conflicts import StateConflict
from nhiportal.audit.services import agent_actor, audit_record
from nhiportal.conf import nhi_setting
from nhiportal.mail import send_claimed_rows
from nhiportal.people.selectors import reviewers_and_admins

from .models import ApprovalNotice, Task
from .policy import engine
from .policy.compiled import ALLOW
from .revocation import lock_identity

PENDING = "pending"


# The refusal the service and the API give alike.
APPROVERS = "Only a reviewer or security admin who does not own the identity decides its approvals."


def approval_would_allow(request: engine.PolicyRequest) -> bool:
    """Would policy allow this denied request if a person approved the task? (Not recorded:
    a question the portal asks itself, not a decision.)"""
    return engine.policy_evaluate(replace(request, human_approval=True)).enforced == ALLOW


def approval_request_decide(request: engine.PolicyRequest) -> bool:
    """May the agent ask a person to approve this task? Policy decides (action "approve"), recorded."""
    return engine.policy_decide(replace(request, action=engine.APPROVE)).allowed


def approval_requested(*, client_id: str, identity_id, task_id, service, scopes, policy_ids) -> None:
    """The audit event of an agent's request for approval (inside the issuing transaction);
    it keeps the policies that asked for a person, for the reviewer to read."""
    audit_record(
        actor=agent_actor(client_id),
        action="task.approval_request",
        object_type="tokens.task",
        object_id=str(task_id),
        object_repr=f"task {task_id}",
        identity=identity_id,
        after={"aud": service.audience, "scope": " ".join(scopes), "policy_ids": list(policy_ids)},
    )


def _pending_task_to_decide(*, actor, task: Task) -> Task:
    """The task, re-read under the identity lock, if this person may decide it now."""
    identity = lock_identity(task.identity_id)
    task = Task.objects.select_related("service").get(pk=task.pk)
    if not visibility.can(actor, visibility.APPROVE, identity):
        raise PermissionDenied(APPROVERS)
    if task.approval_state != PENDING:
        raise StateConflict("This task no longer waits for approval: it was approved, rejected or ended meanwhile.")
    if identity.status != Status.ACTIVE:
        raise StateConflict(f"The identity is {identity.get_status_display().lower()}; only an active identity's task can be approved.")
    return task


@transaction.atomic
def task_approve(*, actor, task: Task, minutes: int, reason: str = "") -> Task:
    """Approve a pending task for `minutes`: the agent's tokens for it expire when the window does."""
    longest = nhi_setting("APPROVAL_WINDOW_MAX_MINUTES")
    if not 1 <= minutes <= longest:
        raise ValidationError({"minutes": f"Approve for 1 to {longest} minutes."})
    task = _pending_task_to_decide(actor=actor, task=task)
    task.approved_by, task.approved_at = actor, timezone.now()
    task.approval_expires_at = task.approved_at + timedelta(minutes=minutes)
    task.save(update_fields=["approved_by", "approved_at", "approval_expires_at"])
    audit_record(
        actor=actor, action="task.approve", obj=task, object_repr=f"task {task.pk}",
        after={"approval_expires_at": task.approval_expires_at, "scope": " ".join(task.scopes)},
        reason=reason.strip(),
    )
    return task


@transaction.atomic
def task_reject(*, actor, task: Task, reason: str) -> Task:
    """Refuse a pending task: it ends, and the agent asking with its id is told access_denied."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why, for the owner and the audit trail."})
    task = _pending_task_to_decide(actor=actor, task=task)
    task.approval_rejected = True
    task.ended_at = timezone.now()
    task.ended_by_label = actor.get_username()
    task.end_reason = f"Approval refused: {reason}"[:2000]
    task.save(update_fields=["approval_rejected", "ended_at", "ended_by_label", "end_reason"])
    audit_record(actor=actor, action="task.reject", obj=task, object_repr=f"task {task.pk}", after={"ended_at": task.ended_at}, reason=reason)
    return task


def _digest(tasks: list, base_url: str) -> str:
    lines = [f"{len(tasks)} agent task{'s' if len(tasks) != 1 else ''} wait{'' if len(tasks) != 1 else 's'} for a person's approval:", ""]
    for task in tasks:
        lines.append(f"- {task.identity.name} asks for {' '.join(task.scopes)} on {task.service.name}: {task.intent or '(no intent given)'}")
        lines.append(f"  {base_url}/approvals/{task.pk}/")
    lines += ["", f"Requests lapse after {nhi_setting('APPROVAL_REQUEST_HOURS')} hours without a decision."]
    return "\n".join(lines)


def approvals_notify(*, actor, tasks) -> dict:
    """Email each person who may decide them a digest of these waiting tasks, once per task.

    The tasks are claimed (an ApprovalNotice each) before any mail goes out, so two runs never
    both send; if sending fails, the claims are withdrawn and the next run tries again. Owners
    are not told about their own agents' tasks: they do not decide them.
    """
    tasks = list(tasks)
    if not tasks:
        return {"tasks": 0, "people": 0}
    people = reviewers_and_admins()
    owners = defaultdict(set)
    for identity_id, person_id in Ownership.objects.filter(identity__in=[t.identity_id for t in tasks]).values_list("identity_id", "person_id"):
        owners[identity_id].add(person_id)
    digests = {p: [t for t in tasks if p.pk not in owners[t.identity_id]] for p in people}
    digests = {p: mine for p, mine in digests.items() if mine}
    with transaction.atomic():
        for task in tasks:
            ApprovalNotice.objects.create(task=task, recipients=sum(task in mine for mine in digests.values()))
        audit_record(
            actor=actor, action="approvals.notify", object_type="tokens.task", object_id="approvals", object_repr="approval notices",
            after={"tasks": len(tasks), "people": len(digests)},
        )
    base_url = nhi_setting("ISSUER").rstrip("/")
    messages = [
        EmailMessage(
            subject=f"[NHI Portal] {len(mine)} agent task{'s wait' if len(mine) != 1 else ' waits'} for your approval",
            body=_digest(mine, base_url), to=[person.email],
        )
        for person, mine in digests.items()
    ]

    def withdraw(error, unsent_tasks):
        ApprovalNotice.objects.filter(task__in=unsent_tasks).delete()
        audit_record(
            actor=actor, action="approvals.notify_failed", object_type="tokens.task", object_id="approvals",
            object_repr="approval notices", after={"tasks": len(unsent_tasks)}, reason=str(error)[:200],
        )

    send_claimed_rows(messages, rows_of=list(digests.values()), claimed=tasks, withdraw=withdraw)
    return {"tasks": len(tasks), "people": len(digests)}
