"""Mail to the owners of identities the portal refused tokens, at most once a day each.

An agent that is refused is an agent that is not working, and its owners are the ones who can
fix it: a grant it lacks, an owner it needs, what its risk panel lists, or a question for the
security admins about a new policy version. The refusals are in the decision log already; this
tells the owners they happened, how often, and which rules said no (log-only "would deny"
decisions refuse nothing and are not told).
"""

from collections import Counter, defaultdict
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from inventory.models import AIIdentity
from tokens.owner_notices import OwnerNotice, digest

from .compiled import DENY
from .models import PolicyDecision, RefusalNotice

TELL_EVERY = timedelta(days=1)
RULES_NAMED = 3  # the commonest deciding rules named per identity

NOTICE = OwnerNotice(
    model=RefusalNotice, told_field="told_at", action="identities.notify_refusals",
    object_type="policy.refusalnotice", object_id="refusals", object_repr="refusal notices", noun="identities",
)


def _refusals_by_identity(since) -> dict:
    """identity id -> Counter of the rules that refused it since `since`. One grouped query:
    an agent retrying in a loop can leave a decision row a request."""
    refused = PolicyDecision.objects.filter(enforced=DENY, at__gte=since, identity_id__isnull=False)
    found = defaultdict(Counter)
    for row in refused.values("identity_id", "policy_ids").annotate(n=Count("pk")).order_by():
        found[row["identity_id"]][row["policy_ids"][0] if row["policy_ids"] else "no policy allowed it"] += row["n"]
    return found


def _line(name: str, rules: Counter) -> str:
    count = sum(rules.values())
    named = ", ".join(f"{rule} ({n})" for rule, n in rules.most_common(RULES_NAMED))
    return f"{name}: refused {count} time{'s' if count != 1 else ''} in the last day, by {named}"


def refusals_notify(*, actor, now=None) -> dict:
    """Mail each owner the identities of theirs the portal refused tokens in the last day,
    unless they were told about that identity within the day."""
    now = now or timezone.now()
    since = now - TELL_EVERY
    refusals = _refusals_by_identity(since)
    # Decisions keep identity ids without a foreign key: only identities still on record are told.
    found = list(AIIdentity.objects.filter(pk__in=list(refusals)).values_list("pk", flat=True))
    RefusalNotice.objects.bulk_create([RefusalNotice(identity_id=pk) for pk in found], ignore_conflicts=True)
    due = (
        RefusalNotice.objects.filter(identity_id__in=found)
        .filter(Q(told_at__isnull=True) | Q(told_at__lt=since))
        .select_related("identity").order_by("pk")
    )
    body = digest(
        lambda notices: (
            f"The portal refused tokens to {'these identities' if len(notices) != 1 else 'an identity'} you own, so "
            f"{'they are' if len(notices) != 1 else 'it is'} not doing {'their' if len(notices) != 1 else 'its'} work. "
            "Each refusal is on the identity's page with the rule that said no: give it the grant it asks for, "
            "fix what its risk panel lists, or ask a security admin about the policy. If nothing of yours should "
            "be asking, someone else may hold its key: report it leaked."
        ),
        lambda notice: (_line(notice.identity.name, refusals[notice.identity_id]), "Its decisions", f"/identities/{notice.identity_id}/#decisions"),
    )
    return NOTICE.run(
        actor=actor, now=now, due=due, body=body,
        subject=lambda mine: f"[NHI Portal] {len(mine)} agent{'s' if len(mine) != 1 else ''} you own {'were' if len(mine) != 1 else 'was'} refused tokens",
    )
