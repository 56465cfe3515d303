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

from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from inventory.selectors import owner_digests
from nhiportal.audit.services import audit_record
from nhiportal.conf import nhi_setting
from nhiportal.mail import send_claimed

from .models import Grant


def _ask_again_url(base_url: str, grant: Grant) -> str:
    query = urlencode([("identity", str(grant.identity_id)), ("service", grant.service_id)] + [("scope", s) for s in grant.scopes])
    return f"{base_url}/access-requests/new/?{query}"


def grant_endings_notify(*, actor, now=None) -> dict:
    now = now or timezone.now()
    horizon = now + timedelta(days=nhi_setting("GRANT_ENDING_NOTICE_DAYS"))
    with transaction.atomic():
        ending = list(
            Grant.objects.select_for_update(of=("self",))
            .filter(revoked_at__isnull=True, ending_told_at__isnull=True, ends_at__gt=now, ends_at__lte=horizon)
            .select_related("identity", "service")
            .order_by("ends_at")
        )
        if not ending:
            return {"grants": 0, "people": 0}
        digests = owner_digests(ending)
        Grant.objects.filter(pk__in=[g.pk for g in ending]).update(ending_told_at=now)
        audit_record(
            actor=actor, action="grants.notify_ending", object_type="tokens.grant", object_id="grants",
            object_repr="grant ending notices", after={"grants": len(ending), "people": len(digests)},
        )
    base_url = nhi_setting("ISSUER").rstrip("/")

    def body(grants):
        lines = [f"{len(grants)} grant{'s' if len(grants) != 1 else ''} of identities you own end{'' if len(grants) != 1 else 's'} soon; after that the agent gets no token for {'them' if len(grants) != 1 else 'it'}:", ""]
        for g in grants:
            lines += [f"- {g.identity.name}: {' '.join(g.scopes)} on {g.service.name}, ends {g.ends_at:%Y-%m-%d %H:%M} UTC",
                      f"  still needed? ask again: {_ask_again_url(base_url, g)}"]
        return "\n".join(lines)

    messages = [
        EmailMessage(subject=f"[NHI Portal] {len(mine)} grant{'s' if len(mine) != 1 else ''} of your agents end soon", body=body(mine), to=[p.email])
        for p, mine in digests.items()
    ]

    def withdraw(error):
        Grant.objects.filter(pk__in=[g.pk for g in ending]).update(ending_told_at=None)
        audit_record(
            actor=actor, action="grants.notify_ending_failed", object_type="tokens.grant", object_id="grants",
            object_repr="grant ending notices", after={"grants": len(ending)}, reason=str(error)[:200],
        )

    send_claimed(messages, withdraw=withdraw)
    return {"grants": len(ending), "people": len(digests)}
