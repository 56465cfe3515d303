"""When the owner ends, access ends: identities left without an active owner are suspended.

An owner who leaves (their account deactivated) leaves their identities orphaned: no one
answers for what they do. `manage.py suspend_orphans` (hourly: a step of the governance sweep,
nhiportal/sweep/steps.py) notes when it first finds an identity orphaned, clears the note once
an owner is back (a claim approved, owners edited), and suspends an active identity still
orphaned after NHI_ORPHAN_GRACE_DAYS, which revokes its live tokens and ends its open tasks
(inventory/services.identity_suspend). The grace period leaves time to claim it
(inventory/claims.py); a new owner reactivates it. Counted from the first run that saw it,
so at most an hour late with the sweep's hourly run.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from nhiportal.audit.services import audit_record
from nhiportal.conf import nhi_setting

from . import services
from .models import AIIdentity, Status
from .selectors import orphaned_q


def suspension_due(identity: AIIdentity):
    """When suspend_orphans will suspend this identity if no owner is back by then (None: not due)."""
    if identity.orphaned_since is None or identity.status != Status.ACTIVE:
        return None
    return identity.orphaned_since + timedelta(days=nhi_setting("ORPHAN_GRACE_DAYS"))


def orphans_review(*, actor, now=None) -> dict:
    now = now or timezone.now()
    grace = nhi_setting("ORPHAN_GRACE_DAYS")
    with transaction.atomic():
        found = AIIdentity.objects.filter(orphaned_q(), orphaned_since__isnull=True).update(orphaned_since=now)
        owned_again = AIIdentity.objects.filter(orphaned_q(False), orphaned_since__isnull=False).update(orphaned_since=None)
        if found or owned_again:
            audit_record(
                actor=actor, action="orphans.review", object_type="inventory.aiidentity", object_id="orphans",
                object_repr="orphaned identities", after={"newly_orphaned": found, "owned_again": owned_again},
            )
    cutoff = now - timedelta(days=grace)
    overdue = AIIdentity.objects.filter(orphaned_q(), status=Status.ACTIVE, orphaned_since__lte=cutoff)
    suspended = 0
    for pk in list(overdue.order_by("name").values_list("pk", flat=True)):
        # One transaction each, deciding again under the identity's lock: a claim approved or
        # an owner added since the list was read keeps the identity active.
        with transaction.atomic():
            identity = AIIdentity.objects.select_for_update().filter(pk=pk).filter(
                orphaned_q(), status=Status.ACTIVE, orphaned_since__lte=cutoff
            ).first()
            if identity is None:
                continue
            services.identity_suspend(
                actor=actor, identity=identity,
                reason=f"No active owner since {identity.orphaned_since:%Y-%m-%d} ({grace} days' grace): suspended until someone claims it.",
            )
        suspended += 1
    return {"newly_orphaned": found, "owned_again": owned_again, "suspended": suspended}
