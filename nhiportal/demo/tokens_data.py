"""The demo's token side: services with scopes, a SPIFFE trust domain, signing keys, workload
credentials, grants and a few tasks with tokens, all made through the token services.

`manage.py demo_data` calls the hooks below (see its module docstring). Private keys generated here
are thrown away: the demo's agents cannot actually sign, which is the point of a demo.
"""

import uuid
from datetime import datetime, timedelta, timezone as dt_timezone

from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth import get_user_model
from django.utils import timezone
from jwt.algorithms import ECAlgorithm

from inventory.models import AIIdentity, Environment, Kind, Sensitivity, Status
from nhiportal.audit.services import system_actor
from nhiportal.demo.people_data import LEAVERS
from tokens.credentials import credential_add_jwk, credential_add_spiffe
from tokens.delegations import delegation_create
from tokens.exposures import exposure_report_token
from tokens.issuance import token_issue
from tokens.keys import signing_keys_rotate
from tokens.models import CredentialKind, KeyState, Service, SigningKey, Task, TrustDomain, WorkloadCredential
from tokens.oauth.client_auth import AuthenticatedClient
from tokens.oauth.errors import OAuthError
from tokens.oauth.params import TaskContext
from tokens.public_keys import jwk_thumbprint
from tokens.revocation import task_end
from tokens.services import grant_create, grant_revoke, service_create, trust_domain_create

TRUST_DOMAIN = "prod.example.com"
CONSEQUENTIAL = "!"  # a scope name starting with it is consequential

# name, audience, environment, trust boundary, sensitivity, scopes, description
SERVICES = [
    ("CRM", "https://crm.example.com", Environment.PRODUCTION, "", Sensitivity.CONFIDENTIAL,
     ["contacts:read", "contacts:write", "!emails:send"], "Customer records, deals and email."),
    ("Helpdesk", "https://helpdesk.example.com", Environment.PRODUCTION, "", Sensitivity.INTERNAL,
     ["tickets:read", "tickets:write", "tickets:close"], "Support tickets and their conversations."),
    ("Payments", "https://payments.example.com", Environment.PRODUCTION, "finance-restricted", Sensitivity.RESTRICTED,
     ["payments:read", "!refunds:create", "!payouts:send"], "Card payments, refunds and payouts."),
    ("Data warehouse", "https://warehouse.example.com", Environment.PRODUCTION, "", Sensitivity.CONFIDENTIAL,
     ["tables:read", "tables:write", "!exports:create"], "The analytics warehouse."),
    ("Source control", "https://git.example.com", Environment.PRODUCTION, "", Sensitivity.INTERNAL,
     ["repos:read", "pulls:comment", "issues:write"], "Repositories, pull requests and issues."),
    ("Chat", "https://chat.example.com", Environment.PRODUCTION, "", Sensitivity.INTERNAL,
     ["messages:read", "messages:post"], "Team chat channels."),
    ("Staging cluster", "https://k8s.staging.example.com", Environment.STAGING, "", Sensitivity.INTERNAL,
     ["deployments:read", "!deployments:restart"], "Kubernetes API of the staging cluster."),
]
# Which services an identity in a trust boundary may plausibly be granted.
SERVICES_BY_BOUNDARY = {
    "finance-restricted": ["Payments", "Data warehouse"],
    "customer-facing": ["Helpdesk", "CRM"],
    "analytics-zone": ["Data warehouse"],
    "engineering": ["Source control", "Chat", "Staging cluster"],
    "corp-internal": ["Chat", "CRM"],
    "security-ops": ["Helpdesk", "Chat"],
    "partner-network": ["CRM"],
}
DEMO_TASKS = 8  # identities that get a task and a token or two
DEMO_APPROVALS = 2  # autonomous agents whose consequential task waits for a reviewer


def _public_jwk(**members) -> dict:
    jwk = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True)
    return {**jwk, **members}


def prepare(people: dict) -> None:
    """Services, the trust domain and the signing keys (before any identity exists)."""
    sam = people["sam"]
    for name, audience, environment, boundary, sensitivity, scopes, description in SERVICES:
        if Service.objects.filter(audience=audience).exists():
            continue
        service_create(
            actor=sam, name=name, audience=audience, owner=sam, description=description, environment=environment,
            trust_boundary=boundary, sensitivity=sensitivity,
            scopes=[{"name": s.lstrip(CONSEQUENTIAL), "consequential": s.startswith(CONSEQUENTIAL)} for s in scopes],
        )
    if not TrustDomain.objects.filter(name=TRUST_DOMAIN).exists():
        trust_domain_create(actor=sam, name=TRUST_DOMAIN, jwks={"keys": [_public_jwk(kid="spire-2026-1", use="jwt-svid")]})
    if not SigningKey.objects.filter(state=KeyState.ACTIVE).exists():
        signing_keys_rotate(actor=system_actor("demo_data"))


def prepare_identity(identity: AIIdentity) -> None:
    """A workload credential, so activation succeeds: SPIFFE for pipelines, a public key for the rest."""
    owner = identity.ownerships.get(role="primary").person
    if identity.kind == Kind.PIPELINE and TrustDomain.objects.filter(name=TRUST_DOMAIN).exists():
        spiffe_id = f"spiffe://{TRUST_DOMAIN}/ns/{identity.environment}/sa/{identity.name}"
        credential_add_spiffe(actor=owner, identity=identity, spiffe_id=spiffe_id, label="SPIRE workload")
    else:
        credential_add_jwk(actor=owner, identity=identity, jwk=_public_jwk(kid=f"{identity.name}-2026"), label="deploy key")


def prepare_bulk(identities: list) -> None:
    """The same for bulk-inserted identities: a key pair of their own each (one shared key
    would be the NHI reuse the compliance page flags), disabled once offboarded."""
    now = timezone.now()
    rows = []
    for identity in identities:
        jwk = _public_jwk()
        kid = f"bulk-{identity.pk.hex[:12]}"
        offboarded = identity.status == Status.OFFBOARDED
        rows.append(WorkloadCredential(
            identity=identity, kind=CredentialKind.JWK, kid=kid, public_jwk={**jwk, "kid": kid}, thumbprint=jwk_thumbprint(jwk),
            label="bulk demo key", enabled=not offboarded, disabled_at=now if offboarded else None,
            disabled_by_label="demo_data" if offboarded else "", disable_reason="Identity offboarded" if offboarded else "",
        ))
    WorkloadCredential.objects.bulk_create(rows)


def _services_for(identity: AIIdentity) -> list[Service]:
    names = SERVICES_BY_BOUNDARY.get(identity.trust_boundary, [])
    services = Service.objects.filter(name__in=names).prefetch_related("scopes")
    production = identity.environment == Environment.PRODUCTION
    return [s for s in services if (s.environment == Environment.PRODUCTION) == production and s.sensitivity <= (identity.sensitivity_ceiling or 0)]


def _grant_all(identities: list, sam) -> list:
    granted = []
    for n, identity in enumerate(identities):
        for service in _services_for(identity):
            scopes = [s.name for s in service.scopes.all() if not s.consequential][:2]
            if scopes:
                grant = grant_create(
                    actor=sam, identity=identity, service=service, scopes=scopes,
                    ends_at=timezone.now() + timedelta(days=30 + 15 * (n % 5)),
                    justification=f"Needed for: {identity.purpose[:120]}",
                )
                granted.append((identity, grant))
    return granted


def _run_tasks(granted: list, sam) -> None:
    """A few tasks through the real issuance path (policy, ledger, audit), one of them ended."""
    seen = set()
    for identity, grant in granted:
        if identity.pk in seen or len(seen) >= DEMO_TASKS:
            continue
        seen.add(identity.pk)
        client = _demo_client(identity)
        intent = f"Demo run of {identity.name}"
        details = [{"type": "agent_task", "intent": intent, "actions": ["read"]}]
        try:
            issued = token_issue(
                client=client, audience=grant.service.audience, scopes=grant.scopes[:1],
                context=TaskContext(details=details, intent=intent, sensitivity=None),
            )
        except OAuthError:
            continue  # refused by policy: the refusal shows on the identity's decisions panel, as it should
        if len(seen) % 3 == 0:
            task_end(task=Task.objects.get(pk=issued.task_id), actor=identity.ownerships.get(role="primary").person, reason="Done.")
    if granted:
        identity, grant = granted[-1]
        grant_revoke(actor=sam, grant=grant, reason="Scope no longer needed after the quarterly review.")


def _demo_client(identity: AIIdentity) -> AuthenticatedClient:
    credential = identity.credentials.filter(enabled=True).first()
    return AuthenticatedClient(
        client_id=str(identity.pk), identity_id=identity.pk, credential_id=credential.pk,
        replay_key=uuid.uuid4().hex, replay_expires_at=datetime.now(dt_timezone.utc) + timedelta(minutes=5),
    )


def _ask_for_approvals(active: list, sam) -> None:
    """A couple of autonomous agents ask for a consequential scope: their tasks wait on the approvals page."""
    asked = 0
    for identity in active:
        if identity.autonomy != "autonomous" or asked >= DEMO_APPROVALS:
            continue
        if not identity.ownerships.exclude(person__username__in=LEAVERS).exists():
            continue  # orphaned once the leavers go: policy would refuse it whatever a reviewer says
        for service in _services_for(identity):
            consequential = [s.name for s in service.scopes.all() if s.consequential][:1]
            if not consequential:
                continue
            grant_create(
                actor=sam, identity=identity, service=service, scopes=consequential,
                ends_at=timezone.now() + timedelta(days=14), justification="Pilot of a consequential action, approved per task.",
            )
            intent = f"{identity.name}: {consequential[0]} for this week's review"
            try:
                token_issue(
                    client=_demo_client(identity), audience=service.audience, scopes=consequential,
                    context=TaskContext(details=[{"type": "agent_task", "intent": intent, "actions": ["write"]}], intent=intent, sensitivity=None),
                )
            except OAuthError:
                asked += 1  # authorization_pending (or a refusal, shown on the identity page)
            break


def finish(identities: list) -> None:
    """Grants for the active identities, a few tasks and tokens to look at, and approvals waiting."""
    sam = get_user_model().objects.get(username="sam")
    active = [i for i in identities if i.status == Status.ACTIVE]
    _run_tasks(_grant_all(active, sam), sam)
    _ask_for_approvals(active, sam)
    _lend_one(active)
    _report_one_leak(active)


def _report_one_leak(active: list) -> None:
    """Someone finds an agent's token pasted in a chat: it is revoked, and waits for a security admin to confirm."""
    rita = get_user_model().objects.get(username="rita")
    for identity, grant in ((i, i.grants.filter(revoked_at__isnull=True).first()) for i in active):
        if grant is None or not identity.ownerships.exclude(person__username__in=LEAVERS).exists():
            continue
        intent = f"{identity.name}: nightly sync"
        try:
            issued = token_issue(
                client=_demo_client(identity), audience=grant.service.audience, scopes=grant.scopes[:1],
                context=TaskContext(details=[{"type": "agent_task", "intent": intent, "actions": ["read"]}], intent=intent, sensitivity=None),
            )
        except OAuthError:
            continue
        exposure_report_token(
            actor=rita, token=issued.access_token, where_found="Pasted into the #ai-ops chat channel while debugging",
            seen_at=timezone.now() - timedelta(hours=2),
        )
        return


def _lend_one(active: list) -> None:
    """One agent lets another of the same owner act for it (token exchange with an act claim)."""
    by_owner = {}
    for identity in active:
        owner = identity.ownerships.filter(role="primary").exclude(person__username__in=LEAVERS).first()
        if owner:
            by_owner.setdefault(owner.person, []).append(identity)
    for person, identities in by_owner.items():
        if len(identities) >= 2:
            delegation_create(
                actor=person, principal=identities[0], delegate_id=identities[1].pk,
                reason=f"{identities[1].name} takes over the routine part of {identities[0].name}'s tasks.",
            )
            return

