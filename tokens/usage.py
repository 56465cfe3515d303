"""Which access goes unused: the scopes of each grant that no token carried lately.

An agent granted tickets:write "just in case" holds a standing right nobody exercises; an
attacker who takes the agent gets it too (OWASP NHI5, overprivileged NHI). The issued-token
ledger says what was used: each token names its identity, audience and scopes. It keeps
NHI_TOKEN_RETENTION_DAYS of tokens, so the window (NHI_UNUSED_ACCESS_DAYS) can be no longer,
which a system check enforces. A grant younger than the window is not judged: it has not
had the chance to be used.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.checks import Error, register
from django.db.models import Max
from django.utils import timezone

from nhiportal.conf import nhi_setting

from .models import Grant, IssuedToken


def window_days() -> int:
    return nhi_setting("UNUSED_ACCESS_DAYS")


@dataclass(frozen=True)
class GrantUse:
    last_used_at: datetime | None  # the latest token in the window that carried one of its scopes
    unused_scopes: tuple[str, ...]  # its scopes no token in the window carried, in its order
    judged: bool  # it was live for the whole window

    @property
    def unused(self) -> bool:
        return self.judged and bool(self.unused_scopes)


def grant_uses(grants, *, now=None, identity_ids=None) -> dict[int, GrantUse]:
    """How each grant (with its service loaded) was used in the window, by grant pk.

    One grouped query over the window's tokens: identity, audience and the scope set they
    carried, with the latest time each set was issued. Agents ask for a few scope sets over
    and over, so the groups are few however many tokens there are. identity_ids narrows the
    query to those identities (a page's few); None reads the whole window (the compliance check).
    """
    grants = list(grants)
    if not grants:
        return {}
    now = now or timezone.now()
    since = now - timedelta(days=window_days())
    tokens = IssuedToken.objects.filter(issued_at__gte=since)
    if identity_ids is not None:
        tokens = tokens.filter(identity_id__in=identity_ids)
    carried = defaultdict(list)
    for row in tokens.order_by().values("identity_id", "audience", "scopes").annotate(last=Max("issued_at")):
        carried[(row["identity_id"], row["audience"])].append((frozenset(row["scopes"] or ()), row["last"]))
    uses = {}
    for grant in grants:
        own = set(grant.scopes)
        used, last = set(), None
        for scopes, at in carried.get((grant.identity_id, grant.service.audience), ()):
            hit = own & scopes
            if hit and at >= grant.starts_at:
                used |= hit
                last = at if last is None else max(last, at)
        uses[grant.pk] = GrantUse(
            last_used_at=last,
            unused_scopes=tuple(s for s in grant.scopes if s not in used),
            judged=grant.starts_at <= since,
        )
    return uses


def unused_grants(grants, *, now=None) -> list[tuple[Grant, GrantUse]]:
    """Those of these live grants (service loaded) with a scope unused for the whole window."""
    grants = list(grants)
    uses = grant_uses(grants, now=now, identity_ids={g.identity_id for g in grants})
    return [(g, uses[g.pk]) for g in grants if uses[g.pk].unused]


@register()
def unused_access_window(app_configs, **kwargs):
    days, kept = nhi_setting("UNUSED_ACCESS_DAYS"), nhi_setting("TOKEN_RETENTION_DAYS")
    if not 1 <= days <= kept:
        return [
            Error(
                f"NHI_UNUSED_ACCESS_DAYS ({days}) must be at least 1 and at most NHI_TOKEN_RETENTION_DAYS ({kept}): "
                "the token ledger is the record of use, and it keeps no more.",
                id="tokens.E001",
            )
        ]
    return []
