"""Which access goes unused: the scopes of each grant that no token carried lately.

An agent granted tickets:write "just in case" holds a standing right nobody exercises; an
attacker who takes the agent gets it too (OWASP NHI5, overprivileged NHI). The issued-token
ledger says what was used: each token names its identity, audience and scopes. It keeps
NHI_TOKEN_RETENTION_DAYS of tokens, so the window (NHI_UNUSED_ACCESS_DAYS) can be no longer,
which a system check enforces. A grant younger than the window is not judged: it has not
had the chance to be used.

Reading the window's tokens costs a pass over them (about a second per 500,000 on SQLite),
too much for a page, so `grant_usage_refresh` (manage.py grant_usage, an hourly step of the
governance sweep) stores each live grant's use on its row, and pages read that.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.checks import Error, register
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from nhiportal.audit.services import audit_record
from nhiportal.conf import nhi_setting

from .models import Grant, IssuedToken
from .owner_notices import OwnerNotice, digest
from .services import grant_reduce


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


def read_uses(grants, *, now) -> dict[int, GrantUse]:
    """How each grant (with its service loaded) was used in the window ending now, by grant pk.

    One grouped query over the window's tokens: identity, audience and the scope set they
    carried, with the latest time each set was issued. Agents ask for a few scope sets over
    and over, so the groups are few however many tokens there are.
    """
    grants = list(grants)
    if not grants:
        return {}
    since = now - timedelta(days=window_days())
    carried = defaultdict(list)
    rows = IssuedToken.objects.filter(issued_at__gte=since, issued_at__lte=now).order_by()
    for row in rows.values("identity_id", "audience", "scopes").annotate(last=Max("issued_at")):
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


def stored_use(grant: Grant) -> GrantUse | None:
    """What the last grant_usage run found for this grant; None if none has looked at it."""
    if grant.usage_checked_at is None:
        return None
    judged = grant.starts_at <= grant.usage_checked_at - timedelta(days=window_days())
    return GrantUse(grant.last_used_at, tuple(grant.unused_scopes or ()), judged)


def current_use(grant: Grant) -> GrantUse | None:
    """stored_use, brought up to now with the tokens issued since it was stored (at most an
    hour's, for one identity and audience): what someone about to remove scopes must see."""
    use = stored_use(grant)
    if use is None:
        return None
    since = IssuedToken.objects.filter(
        identity_id=grant.identity_id, audience=grant.service.audience, issued_at__gte=grant.usage_checked_at
    ).order_by().values("scopes").annotate(last=Max("issued_at"))
    unused_scopes, last = list(use.unused_scopes), use.last_used_at
    for row in since:
        hit = set(grant.scopes) & set(row["scopes"] or ())
        if hit:
            unused_scopes = [s for s in unused_scopes if s not in hit]
            last = row["last"] if last is None else max(last, row["last"])
    return GrantUse(last, tuple(unused_scopes), use.judged)


@transaction.atomic
def unused_scopes_remove(*, actor, grants, reason: str) -> dict:
    """Take off each grant the scopes that are still unused now (current_use), all or none;
    a grant left with no scope is revoked. One audit event per grant (grant_reduce's)."""
    done = {"reduced": 0, "revoked": 0, "in use again": 0}
    for grant in grants:
        use = current_use(grant)
        if use is None or not use.unused:
            done["in use again"] += 1
            continue
        result = grant_reduce(actor=actor, grant=grant, remove=use.unused_scopes, reason=reason)
        done["revoked" if result.revoked_at else "reduced"] += 1
    return done


def with_uses(grants):
    """Set grant.use (stored_use) on each grant; return them."""
    for grant in grants:
        grant.use = stored_use(grant)
    return grants


def unused(grants):
    """Narrow a queryset of live grants to those the last run found a scope unused on."""
    return grants.filter(usage_checked_at__isnull=False).exclude(unused_scopes=[])


def grant_usage_refresh(*, actor, now=None) -> dict:
    """Read every live grant's use off the ledger and store it on the grant (manage.py grant_usage)."""
    now = now or timezone.now()
    live = list(
        Grant.objects.filter(revoked_at__isnull=True, starts_at__lte=now, ends_at__gt=now).select_related("service").order_by("pk")
    )
    uses = read_uses(live, now=now)
    changed = []
    for grant in live:
        use = uses[grant.pk]
        unused_scopes = list(use.unused_scopes) if use.judged else []
        if (grant.last_used_at, list(grant.unused_scopes or ())) != (use.last_used_at, unused_scopes) or grant.usage_checked_at is None:
            changed.append(grant)
        grant.last_used_at, grant.unused_scopes = use.last_used_at, unused_scopes
    counts = {"live": len(live), "with_unused_scopes": sum(1 for g in live if g.unused_scopes), "changed": len(changed)}
    with transaction.atomic():
        # Every live grant's check time moves; the rows whose findings changed are the news.
        Grant.objects.filter(revoked_at__isnull=True, starts_at__lte=now, ends_at__gt=now).update(usage_checked_at=now)
        for grant in changed:
            findings = {"last_used_at": grant.last_used_at, "unused_scopes": grant.unused_scopes}
            if not grant.unused_scopes:
                findings["unused_told_at"] = None  # used again: if it lapses anew, the owners hear anew
            # Only while it holds the scopes read above: one narrowed meanwhile (grant_reduce) keeps
            # what that wrote, and the next run reads it again. unused_told_at is written only to
            # clear it, so a notice claimed meanwhile by another sweeper stays claimed.
            Grant.objects.filter(pk=grant.pk, scopes=grant.scopes).update(**findings)
        if changed:
            audit_record(
                actor=actor, action="grants.usage", object_type="tokens.grant", object_id="usage",
                object_repr="grant usage", after={**counts, "window_days": window_days()},
            )
    return counts


NOTICE = OwnerNotice(
    model=Grant, told_field="unused_told_at", action="grants.notify_unused", object_type="tokens.grant",
    object_id="usage", object_repr="unused access notices", noun="grants",
)


def unused_access_notify(*, actor, now=None) -> dict:
    """Tell the active owners of each identity, once per grant, which of its grants hold scopes
    no token carried in the window, with a link to remove them (manage.py notify_unused_access,
    daily). A grant used again is told anew if it lapses again (grant_usage_refresh clears it)."""
    now = now or timezone.now()
    found = (
        unused(Grant.objects.filter(revoked_at__isnull=True, starts_at__lte=now, ends_at__gt=now, unused_told_at__isnull=True))
        .select_related("identity", "service").order_by("starts_at", "pk")
    )
    days = window_days()
    body = digest(
        lambda grants: (
            f"{len(grants)} grant{'s' if len(grants) != 1 else ''} of agents you own hold{'' if len(grants) != 1 else 's'} "
            f"scopes no token carried in the last {days} days. A right nobody uses serves only whoever takes the agent:"
        ),
        lambda g: (f"{g.identity.name}: {' '.join(g.unused_scopes)} on {g.service.name}", "remove them", f"/grants/{g.pk}/reduce/"),
    )
    return NOTICE.run(
        actor=actor, now=now, due=found, body=body,
        subject=lambda mine: f"[NHI Portal] {len(mine)} grant{'s' if len(mine) != 1 else ''} of your agents go{'' if len(mine) != 1 else 'es'} unused",
    )


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
