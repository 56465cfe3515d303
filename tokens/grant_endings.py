"""Grants ending soon: the identity's owners hear in time to ask again.

A grant ends on its date and the agent's next token request is refused; an owner who learns
of it then learns too late. `manage.py notify_grant_endings` (daily) emails the active owners
of each identity whose live grant ends within NHI_GRANT_ENDING_NOTICE_DAYS, once per grant,
with a link that opens an access request for the same service and scopes. Grants are claimed
(ending_told_at) before any mail goes out; if the mail server refuses, the claims are
withdrawn and the next run tries again.
"""

from datetime import timedelta
from urllib.parse import urlencode

from django.utils import timezone

from nhiportal.conf import nhi_setting

from .models import Grant
from .owner_notices import OwnerNotice, digest


def _ask_again_path(grant: Grant) -> str:
    query = urlencode([("identity", str(grant.identity_id)), ("service", grant.service_id)] + [("scope", s) for s in grant.scopes])
    return f"/access-requests/new/?{query}"


NOTICE = OwnerNotice(
    model=Grant, told_field="ending_told_at", action="grants.notify_ending", object_type="tokens.grant",
    object_id="grants", object_repr="grant ending notices", noun="grants",
)


def grant_endings_notify(*, actor, now=None) -> dict:
    now = now or timezone.now()
    horizon = now + timedelta(days=nhi_setting("GRANT_ENDING_NOTICE_DAYS"))
    ending = (
        Grant.objects.filter(revoked_at__isnull=True, ending_told_at__isnull=True, ends_at__gt=now, ends_at__lte=horizon)
        .select_related("identity", "service")
        .order_by("ends_at")
    )
    body = digest(
        lambda grants: (
            f"{len(grants)} grant{'s' if len(grants) != 1 else ''} of identities you own end{'' if len(grants) != 1 else 's'} soon; "
            f"after that the agent gets no token for {'them' if len(grants) != 1 else 'it'}:"
        ),
        lambda g: (f"{g.identity.name}: {' '.join(g.scopes)} on {g.service.name}, ends {g.ends_at:%Y-%m-%d %H:%M} UTC",
                   "still needed? ask again", _ask_again_path(g)),
    )
    return NOTICE.run(
        actor=actor, now=now, due=ending, body=body,
        subject=lambda mine: f"[NHI Portal] {len(mine)} grant{'s' if len(mine) != 1 else ''} of your agents end soon",
    )
