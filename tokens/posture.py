"""An identity's risk: what is wrong with it now, each factor weighted by how much access it
puts at stake, and their sum as its score (0 to 100), so owners and security admins fix the
riskiest first.

The identity page reads its factors live; the inventory list sorts and filters by the score
the hourly `score_identities` step stored (reading every factor for 50,000 identities on each
list page would cost seconds). Each factor is a rule the rest of the portal already enforces
or reports (the compliance controls name the same conditions), so the score explains itself.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from inventory.models import AIIdentity, Autonomy, Sensitivity, Status
from inventory.risk import LEVELS, level_of
from inventory.selectors import attestation_overdue_q, orphaned_q, undocumented_q
from nhiportal.audit.services import audit_record

from .models import Exposure, Grant, TokenPace
from .rate_limit import SLOWED_DAYS
from .rotation import due_for_rotation, max_age_days
from .source_networks import NEW_NETWORK_DAYS, new_networks
from .unused_identities import unused_identities
from .usage import unused, window_days

LEAK_DAYS = 30
MAX_SCORE = 100


@dataclass(frozen=True)
class Factor:
    key: str
    weight: int
    fix: str

    @property
    def label(self) -> str:
        return _LABELS[self.key]()


_LABELS = {
    "orphaned": lambda: "No active owner answers for it",
    "leaked": lambda: f"A token or key of it leaked in the last {LEAK_DAYS} days",
    "attestation_overdue": lambda: "Its attestation is overdue",
    "autonomous_sensitive": lambda: "Autonomous, with access up to confidential or restricted data",
    "unused_access": lambda: f"Holds scopes no token used in {window_days()} days",
    "unused_identity": lambda: f"Active, yet obtained no token in {window_days()} days",
    "key_rotation_due": lambda: f"A public key older than {max_age_days()} days",
    "undocumented": lambda: "Its purpose, trust boundary, sensitivity ceiling or offboarding plan is missing",
    "new_network": lambda: f"Got a token from a network it never used before, in the last {NEW_NETWORK_DAYS} days",
    "rate_limited": lambda: f"Asked for tokens past its rate limit in the last {SLOWED_DAYS} days",
}
FACTORS = {f.key: f for f in (
    Factor("orphaned", 30, "Claim it, or offboard it."),
    Factor("leaked", 30, "Confirm or dismiss the exposure, and rotate what leaked."),
    Factor("new_network", 20, "If the agent did not move, report its key leaked and rotate it; set its allowed networks."),
    Factor("rate_limited", 15, "Find out why it asks so often: a loop, or its key in someone else's hands. Raise its limit only for a known reason."),
    Factor("attestation_overdue", 15, "An owner attests that it is still needed and its scope still right."),
    Factor("autonomous_sensitive", 10, "Keep a person in the loop, or lower its sensitivity ceiling."),
    Factor("unused_access", 10, "Remove the scopes nothing uses."),
    Factor("unused_identity", 10, "Offboard it if it is gone, or find out why it is idle."),
    Factor("key_rotation_due", 10, "Add a new public key, move the agent to it, disable the old one."),
    Factor("undocumented", 5, "Complete its record."),
)}


def score_of(factor_keys) -> int:
    return min(sum(FACTORS[key].weight for key in factor_keys), MAX_SCORE)


def factors_by_identity(identities: QuerySet, *, now=None) -> dict:
    """Each identity in service among these (by pk) with the keys of its factors, in FACTORS
    order; one set query per factor, whatever the number of identities."""
    now = now or timezone.now()
    in_service = identities.exclude(status=Status.OFFBOARDED)
    found = defaultdict(set)

    def mark(key, pks):
        for pk in pks:
            found[pk].add(key)

    mark("orphaned", in_service.filter(orphaned_q()).values_list("pk", flat=True))
    mark("leaked", Exposure.objects.filter(
        identity__in=in_service, dismissed_at__isnull=True, contained_at__gte=now - timedelta(days=LEAK_DAYS),
    ).values_list("identity_id", flat=True).distinct())
    mark("new_network", new_networks(now).filter(identity__in=in_service).values_list("identity_id", flat=True).distinct())
    mark("rate_limited", TokenPace.objects.filter(
        identity__in=in_service, slowed_at__gte=now - timedelta(days=SLOWED_DAYS),
    ).values_list("identity_id", flat=True))
    mark("attestation_overdue", in_service.filter(attestation_overdue_q()).values_list("pk", flat=True))
    mark("autonomous_sensitive", in_service.filter(
        autonomy=Autonomy.AUTONOMOUS, sensitivity_ceiling__gte=Sensitivity.CONFIDENTIAL,
    ).values_list("pk", flat=True))
    live_grants = Grant.objects.filter(identity__in=in_service, revoked_at__isnull=True, starts_at__lte=now, ends_at__gt=now)
    mark("unused_access", unused(live_grants).values_list("identity_id", flat=True).distinct())
    mark("unused_identity", unused_identities(in_service, now=now).values_list("pk", flat=True))
    mark("key_rotation_due", due_for_rotation(now).filter(identity__in=in_service).values_list("identity_id", flat=True).distinct())
    mark("undocumented", in_service.filter(undocumented_q()).values_list("pk", flat=True))
    return {pk: [key for key in FACTORS if key in keys] for pk, keys in found.items()}


def posture(identity: AIIdentity, *, now=None) -> dict:
    """The identity's factors now, for its page: each with its weight and fix, the score, the level."""
    keys = factors_by_identity(AIIdentity.objects.filter(pk=identity.pk), now=now).get(identity.pk, [])
    score = score_of(keys)
    return {"factors": [FACTORS[key] for key in keys], "score": score, "level": level_of(score)}


def identity_rescore(identity_id, *, now=None) -> int:
    """Store one identity's score and factors now, inside the caller's transaction (whose audit
    event says why): a reported or dismissed leak changes what policies see at once, not at the
    next sweep. Returns the score."""
    keys = factors_by_identity(AIIdentity.objects.filter(pk=identity_id), now=now).get(identity_id, [])
    score = score_of(keys)
    AIIdentity.objects.filter(pk=identity_id).update(risk_score=score, risk_factors=keys)
    return score


def identities_score(*, actor, now=None) -> dict:
    """Store every identity's score and factors (manage.py score_identities, hourly). Only the
    rows whose score or factors changed are written; one audit event sums up a run that changed any."""
    now = now or timezone.now()
    found = factors_by_identity(AIIdentity.objects.all(), now=now)
    changed = []
    for identity in AIIdentity.objects.only("pk", "risk_score", "risk_factors").iterator(chunk_size=2000):
        keys = found.get(identity.pk, [])
        score = score_of(keys)
        if identity.risk_score != score or list(identity.risk_factors or []) != keys:
            identity.risk_score, identity.risk_factors = score, keys
            changed.append(identity)
    levels = {name: 0 for name, _ in LEVELS}
    for keys in found.values():
        levels[level_of(score_of(keys))] += 1
    with transaction.atomic():
        AIIdentity.objects.bulk_update(changed, ["risk_score", "risk_factors"], batch_size=500)
        if changed:
            audit_record(
                actor=actor, action="identities.score", object_type="inventory.aiidentity", object_id="risk",
                object_repr="risk scores", after={"changed": len(changed), "high": levels["high"], "medium": levels["medium"], "low": levels["low"]},
            )
    return {"changed": len(changed), **{name: levels[name] for name in ("high", "medium", "low")}}
