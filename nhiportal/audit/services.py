"""Writing to the audit log. Every service that changes state calls audit_record once,
inside its own transaction, so the event commits with the change or not at all."""

from django.db import transaction
from django.utils import timezone

from .chain import GENESIS_HASH, event_hash, event_hmac
from .context import request_id_var
from .models import AuditChainHead, AuditEvent


class Actor:
    """Who acted when it is not a logged-in person: an agent or a system command."""

    def __init__(self, label: str):
        self.label = label

    def __repr__(self):
        return f"Actor({self.label!r})"


def system_actor(command: str) -> Actor:
    return Actor(f"system:{command}")


def agent_actor(client_id: str) -> Actor:
    return Actor(f"agent:{client_id}")


def audit_record(
    *,
    actor,
    action: str,
    obj=None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    identity=None,
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
) -> AuditEvent:
    """Append one event to the chain. Must run inside the caller's transaction.

    `identity` is the AI identity the event concerns (defaults to obj when obj is one, or
    obj.identity_id when obj belongs to one), so the identity page can show its whole history.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside the transaction of the change it records")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
        if identity is None:
            identity = obj.pk if obj._meta.label_lower == "inventory.aiidentity" else getattr(obj, "identity_id", None)
    if isinstance(actor, Actor) or actor is None:
        user, label = None, (actor.label if actor else "system")
    else:
        user, label = actor, actor.get_username()

    head, _ = AuditChainHead.objects.select_for_update().get_or_create(
        pk=1, defaults={"last_hash": GENESIS_HASH, "count": 0}
    )
    event = AuditEvent(
        at=timezone.now(),
        actor=user,
        actor_label=label,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        identity_id=getattr(identity, "pk", identity),
        before=before,
        after=after,
        reason=reason,
        request_id=request_id_var.get(),
        prev_hash=head.last_hash,
    )
    event.hash = event_hash(event)
    event.hmac = event_hmac(event.hash)
    event.save()
    AuditChainHead.objects.filter(pk=1).update(last_hash=event.hash, count=head.count + 1)
    return event
