"""An identity's blast radius: what whoever copied its key could reach with it, now.

Owners and reviewers ask it of every agent before an incident, and responders after one:
which services, which scopes, how sensitive the data, from where, how fast and for how long.
It is read from what the portal enforces at issuance: the identity's status, its enabled
credentials, its live grants on active services, its allowed networks, its token rate limit
and the portal's TTL ceiling (policy may refuse or shorten more, request by request). A
delegation adds the grants of each identity it may act for, but only with a token of that
identity in hand: the key alone does not reach them.

An agent with a federated credential has no key to copy: what leaks is its platform's token,
which works only until it expires, and once unless its issuer accepts a token again.

A leaked access token reaches less: one service, its scopes, until it expires, and nothing
at all when it is DPoP-bound (the key it is bound to stays with the agent).
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from inventory.models import AIIdentity, Sensitivity, Status
from nhiportal.conf import nhi_setting

from .federation import subject_prefix
from .models import CredentialKind, Grant, ServiceScope, WorkloadCredential


@dataclass(frozen=True)
class Reach:
    """One live grant: a service its tokens may be asked for, and with which scopes."""

    service_id: int
    service_name: str
    environment: str
    sensitivity: int
    requires_dpop: bool
    scopes: tuple[str, ...]
    consequential: tuple[str, ...]  # of those, the ones that send money, mail or delete data
    ends_at: datetime
    through: str = ""  # the identity it acts for, when the reach is through a delegation

    @property
    def sensitivity_label(self) -> str:
        return Sensitivity(self.sensitivity).label


@dataclass(frozen=True)
class FederatedWay:
    """A federated credential: a copy of the platform's token is the way in, for a short while."""

    issuer: str
    subject: str
    max_age: int  # seconds a token of that issuer may live
    reusable: bool  # a copy works again and again until it expires, not once

    @property
    def minutes(self) -> int:
        return max(1, self.max_age // 60)

    @property
    def prefix(self) -> str | None:
        """What a subject ending in * stands for the start of: a wider way in than one sub."""
        return subject_prefix(self.subject)


@dataclass(frozen=True)
class BlastRadius:
    gets_tokens: bool  # False: not active, so a leaked key gets nothing until it is reactivated
    status_label: str
    keys: int  # enabled credentials: each is a way in
    networks: tuple[str, ...]  # where tokens may be asked from; () is anywhere
    per_minute: int  # the token rate limit; 0 is none
    ttl_seconds: int  # the longest a token lives
    reaches: list[Reach]
    through_delegation: list[Reach]
    federated: tuple[FederatedWay, ...] = ()

    @property
    def ttl_minutes(self) -> int:
        return max(1, self.ttl_seconds // 60)

    @property
    def services(self) -> int:
        """Services reached: several grants on one service are one service."""
        return len({r.service_id for r in self.reaches})

    @property
    def unbound_services(self) -> int:
        """Services reached that take bearer tokens, which work for whoever holds a copy."""
        return len({r.service_id for r in self.reaches if not r.requires_dpop})

    @property
    def top_sensitivity(self) -> str | None:
        reached = [r.sensitivity for r in self.reaches]
        return Sensitivity(max(reached)).label if reached else None

    @property
    def consequential(self) -> int:
        return len({(r.service_id, scope) for r in self.reaches for scope in r.consequential})

    @property
    def production(self) -> bool:
        return any(r.environment == "production" for r in self.reaches)


def _reaches(identity_ids, now, names: dict | None = None) -> list[Reach]:
    grants = (
        Grant.objects.filter(identity_id__in=identity_ids, revoked_at__isnull=True, starts_at__lte=now, ends_at__gt=now, service__is_active=True)
        .select_related("service")
        .order_by("-service__sensitivity", "service__name", "pk")
    )
    grants = list(grants)
    consequential = set(
        ServiceScope.objects.filter(service_id__in={g.service_id for g in grants}, consequential=True).values_list("service_id", "name")
    )
    return [
        Reach(
            service_id=g.service_id, service_name=g.service.name, environment=g.service.environment, sensitivity=g.service.sensitivity,
            requires_dpop=g.service.requires_dpop, scopes=tuple(g.scopes),
            consequential=tuple(s for s in g.scopes if (g.service_id, s) in consequential), ends_at=g.ends_at,
            through=(names or {}).get(g.identity_id, ""),
        )
        for g in grants
    ]


def blast_radius(identity: AIIdentity) -> BlastRadius:
    now = timezone.now()
    principals = dict(
        identity.delegations_received.filter(revoked_at__isnull=True, principal__status=Status.ACTIVE)
        .values_list("principal_id", "principal__name")
    )
    return BlastRadius(
        gets_tokens=identity.status == Status.ACTIVE,
        status_label=identity.get_status_display().lower(),
        keys=WorkloadCredential.objects.filter(identity=identity, enabled=True).count(),
        networks=tuple(identity.allowed_networks or ()),
        per_minute=identity.token_rate_limit,
        ttl_seconds=nhi_setting("TOKEN_TTL_CEILING"),
        reaches=_reaches([identity.pk], now),
        through_delegation=_reaches(list(principals), now, principals),
        federated=tuple(
            FederatedWay(c.federated_issuer.name, c.subject, c.federated_issuer.max_age, c.federated_issuer.reusable)
            for c in WorkloadCredential.objects.filter(identity=identity, enabled=True, kind=CredentialKind.FEDERATED)
            .select_related("federated_issuer").order_by("pk")
        ),
    )
