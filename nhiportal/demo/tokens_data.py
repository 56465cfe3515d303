"""The demo's token side: services with scopes, a SPIFFE trust domain, signing keys, workload
credentials, grants, a few tasks with tokens and access requests in each state, all made through
the token services.

`manage.py demo_data` calls the hooks below (see its module docstring). Private keys generated here
are thrown away: the demo's agents cannot actually sign, which is the point of a demo.
"""

import ipaddress
import uuid
from datetime import datetime, timedelta, timezone as dt_timezone

from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils import timezone
from jwt.algorithms import ECAlgorithm

from inventory.models import AIIdentity, Environment, Kind, Sensitivity, Status
from inventory.services import identity_update
from nhiportal.audit.services import system_actor
from nhiportal.demo.people_data import LEAVERS
from nhiportal.people.services import api_token_create
from tokens.access_requests import access_request_approve, access_request_create, access_request_reject
from tokens.access_reviews import access_review_decide, access_review_launch, may_decide
from tokens.credentials import credential_add_federated, credential_add_jwk, credential_add_spiffe
from tokens.delegations import delegation_create
from tokens.exposures import exposure_report_token
from tokens.federation import GITHUB_ACTIONS, federated_issuer_create
from tokens.issuance import token_issue
from tokens.keys import signing_keys_rotate
from tokens.models import CredentialKind, FederatedIssuer, Grant, KeyState, Service, SigningKey, Task, TrustDomain, WorkloadCredential
from tokens.oauth.client_auth import AuthenticatedClient
from tokens.oauth.errors import OAuthError
from tokens.oauth.params import TaskContext
from tokens.policy.examples import default_examples
from tokens.policy.library import BY_ID as POLICY_LIBRARY
from tokens.policy.schema import default_policy_text
from tokens.policy.services import policy_version_create
from tokens.public_keys import jwk_thumbprint
from tokens.revocation import task_end
from tokens.services import grant_create, grant_revoke, service_create, trust_domain_create

TRUST_DOMAIN = "prod.example.com"
# A scheduled workflow in GitHub Actions: it presents the job's OIDC token, and keeps no key.
IN_GITHUB_ACTIONS = {"knowledge-base-indexer": "repo:acme/knowledge-base:ref:refs/heads/main"}
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
DEMO_RATE_PER_MINUTE = 3  # the limit of the agent stuck in a loop
UNUSED_WINDOW_DEMO_DAYS = 40  # how long ago the demo grants began: past the default unused-access window
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
    if not FederatedIssuer.objects.filter(issuer=GITHUB_ACTIONS).exists():
        # Pasted, not discovered: the demo makes no call outside this machine.
        federated_issuer_create(
            actor=sam, name="GitHub Actions", issuer=GITHUB_ACTIONS, audience="api://nhi-portal",
            jwks={"keys": [_public_jwk(kid="github-actions-demo")]},
        )
    if not SigningKey.objects.filter(state=KeyState.ACTIVE).exists():
        signing_keys_rotate(actor=system_actor("demo_data"))


def prepare_identity(identity: AIIdentity) -> None:
    """A workload credential, so activation succeeds: SPIFFE for pipelines (a GitHub Actions token
    for the one that runs there), a public key for the rest."""
    owner = identity.ownerships.get(role="primary").person
    github = FederatedIssuer.objects.filter(issuer=GITHUB_ACTIONS).first()
    if identity.name in IN_GITHUB_ACTIONS and github:
        credential_add_federated(
            actor=owner, identity=identity, federated_issuer=github, subject=IN_GITHUB_ACTIONS[identity.name],
            required_claims={"repository_owner": "acme"}, label="GitHub Actions workflow",
        )
    elif identity.kind == Kind.PIPELINE and TrustDomain.objects.filter(name=TRUST_DOMAIN).exists():
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
                # Granted weeks ago, so the grants the demo's few tasks leave unexercised
                # show as unused access (tokens/usage.py) on /grants/?state=unused.
                grant = grant_create(
                    actor=sam, identity=identity, service=service, scopes=scopes,
                    starts_at=timezone.now() - timedelta(days=UNUSED_WINDOW_DEMO_DAYS),
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
        try:
            issued = token_issue(
                client=client, audience=grant.service.audience, scopes=grant.scopes[:1],
                context=_task(grant.service, f"Demo run of {identity.name}"),
            )
        except OAuthError:
            continue  # refused by policy: the refusal shows on the identity's decisions panel, as it should
        if len(seen) % 3 == 0:
            task_end(task=Task.objects.get(pk=issued.task_id), actor=identity.ownerships.get(role="primary").person, reason="Done.")
    looping = _from_a_new_network(granted, seen)
    _stuck_in_a_loop(granted, seen - {looping}, sam)
    if granted:
        identity, grant = granted[-1]
        grant_revoke(actor=sam, grant=grant, reason="Scope no longer needed after the quarterly review.")


def _stuck_in_a_loop(granted: list, seen: set, sam) -> None:
    """One agent with a small limit of its own asks for tokens past it: its decision log shows
    the refusal and NHIP-24 lists it (tokens/rate_limit.py)."""
    for identity, grant in granted:
        if identity.pk not in seen:
            continue
        identity = AIIdentity.objects.get(pk=identity.pk)
        identity = identity_update(actor=sam, identity=identity, expected_version=identity.version, token_rate_per_minute=DEMO_RATE_PER_MINUTE)
        intent = f"Retrying {identity.name}'s summary"
        for _ in range(DEMO_RATE_PER_MINUTE + 2):
            try:
                token_issue(
                    client=_demo_client(identity), audience=grant.service.audience, scopes=grant.scopes[:1],
                    context=_task(grant.service, intent),
                )
            except OAuthError:
                pass
        return


def _from_a_new_network(granted: list, seen: set):
    """One unbound agent's key is used from a network it never used before: the identity page
    shows the new network and its risk counts it (tokens/source_networks.py). Its id, if any."""
    for identity, grant in granted:
        if identity.pk in seen and not identity.allowed_networks:
            intent = f"Demo run of {identity.name}"
            try:
                token_issue(
                    client=_demo_client(identity, address="198.51.100.23"), audience=grant.service.audience, scopes=grant.scopes[:1],
                    context=_task(grant.service, intent),
                )
            except OAuthError:
                continue
            return identity.pk
    return None


def _task(service, intent: str, action: str = "read") -> TaskContext:
    """A task on the service that states its data's sensitivity, as a careful agent does: the
    tasks list shows it, and policy compares it with the agent's ceiling."""
    sensitivity = Sensitivity(service.sensitivity)
    details = [{"type": "agent_task", "intent": intent, "actions": [action], "sensitivity": sensitivity.label.lower()}]
    return TaskContext(details=details, intent=intent, sensitivity=int(sensitivity))


def _demo_client(identity: AIIdentity, address: str = "") -> AuthenticatedClient:
    credential = identity.credentials.filter(enabled=True).first()
    # From inside its allowed networks, as the agent itself would ask; else from the demo's cluster.
    if not address:
        address = next(ipaddress.ip_network(identity.allowed_networks[0]).hosts()) if identity.allowed_networks else "10.30.0.15"
    return AuthenticatedClient(
        client_id=str(identity.pk), identity_id=identity.pk, credential_id=credential.pk,
        replay_key=uuid.uuid4().hex, replay_expires_at=datetime.now(dt_timezone.utc) + timedelta(minutes=5),
        address=str(address),
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
                    context=_task(service, intent, action="write"),
                )
            except OAuthError:
                asked += 1  # authorization_pending (or a refusal, shown on the identity page)
            break


def _date_keys(identities: list) -> None:
    """Each deploy key came with its identity (the demo spreads registrations over the past
    year): those registered long ago show as due for rotation. Demo only, like the backdating."""
    registered = dict(AIIdentity.objects.filter(pk__in=[i.pk for i in identities]).values_list("pk", "created_at"))
    keys = list(WorkloadCredential.objects.filter(identity_id__in=registered, kind=CredentialKind.JWK, label="deploy key"))
    for key in keys:
        key.created_at = registered[key.identity_id]
    WorkloadCredential.objects.bulk_update(keys, ["created_at"])


def finish(identities: list) -> None:
    """Grants for the active identities, a few tasks and tokens to look at, and approvals waiting."""
    sam = get_user_model().objects.get(username="sam")
    _date_keys(identities)
    active = [i for i in identities if i.status == Status.ACTIVE]
    _run_tasks(_grant_all(active, sam), sam)
    _ask_for_approvals(active, sam)
    _lend_one(active)
    _report_one_leak(active)
    _report_a_personal_token_leak()
    _request_access(active)
    _review_one_service(sam)
    _draft_a_stricter_policy(sam)


# The draft's additions, from the rule library on the new-version page.
STRICTER_RULES = ("high-risk-agents-stay-off-confidential-data", "confidential-data-needs-a-stated-intent")


def _draft_a_stricter_policy(sam) -> None:
    """sam drafts the shipped set plus two library rules, not yet active: its page replays it
    against the demo's decisions, showing what it would change before anyone is refused."""
    rules = [POLICY_LIBRARY[rule_id] for rule_id in STRICTER_RULES]
    policy_version_create(
        actor=sam,
        text="\n\n".join([default_policy_text().rstrip("\n"), *(rule.text for rule in rules)]),
        examples=default_examples() + [example for rule in rules for example in rule.examples],
        note="Draft: keep high-risk agents off confidential data, and ask for a stated intent there. Replay before activating.",
    )


def _review_one_service(sam) -> None:
    """sam launches a quarterly review of the busiest service's grants; rita decides a few (sam
    granted them, and nobody certifies access they gave), the rest wait for her and the
    service's owner."""
    now = timezone.now()
    live = Grant.objects.filter(revoked_at__isnull=True, starts_at__lte=now, ends_at__gt=now)
    busiest = Service.objects.filter(grants__in=live).annotate(n=Count("grants")).order_by("-n", "name").first()
    if busiest is None:
        return
    review = access_review_launch(
        actor=sam, name=f"Q4 access to {busiest.name}", due=timezone.localdate() + timedelta(days=21), service=busiest,
        instructions="Keep what the agent still needs at the scopes it uses; revoke the rest.",
    )
    rita = get_user_model().objects.get(username="rita")
    for item in list(review.items.select_related("grant__service", "grant__identity", "review"))[:2]:
        if may_decide(rita, item):
            access_review_decide(actor=rita, item=item, decision="keep")


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
                context=_task(grant.service, intent),
            )
        except OAuthError:
            continue
        exposure_report_token(
            actor=rita, token=issued.access_token, where_found="Pasted into the #ai-ops chat channel while debugging",
            seen_at=timezone.now() - timedelta(hours=2),
        )
        return


def _report_a_personal_token_leak() -> None:
    """bob's API token for a sync script turns up in a CI log: rita reports it, and it is revoked."""
    people = get_user_model().objects.in_bulk(["bob", "rita"], field_name="username")
    _, raw = api_token_create(user=people["bob"], name="inventory sync script", days=90)
    exposure_report_token(actor=people["rita"], token=raw, where_found="Printed in the CI log of build 4211 (nightly-sync)")


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



# Why an agent would need a scope, as its owner would write it on an access request.
ACCESS_JUSTIFICATIONS = {
    "repos:read": "Its repository search tool reads code and READMEs; issues:write and pulls:comment do not cover reading them.",
    "exports:create": "Month-end export of the invoices it could not match, for the external auditors' sample. One file a month.",
    "emails:send": "Email the flagged clauses straight to the counterparty's lawyers instead of waiting for legal to forward them.",
    "contacts:read": "Look up the customer's account manager to address its drafts correctly.",
    "tickets:read": "Read the ticket history it summarises; today a person pastes it in by hand.",
    "tables:read": "Read the warehouse tables its report is built from.",
    "tables:write": "Write its results to its own staging table instead of a CSV someone uploads by hand.",
    "issues:write": "Open an issue for each finding so it is tracked, rather than posting it in chat.",
    "pulls:comment": "Leave its findings as review comments on the pull request where the author sees them.",
    "messages:post": "Post its daily summary in the team channel instead of emailing it.",
    "deployments:read": "Read deployment state to explain failed rollouts in its summaries.",
}
ACCESS_NOTE = "Until the end date asked; ask again then if it still needs it."
ACCESS_REFUSAL = {
    True: "A person takes this action, not the agent: keep it drafting and let the team send. Ask for per-task approval if it must act on its own.",
    False: "Say which records it needs and for how long; this is broader than its purpose.",
}


def _access_candidates(identities: list) -> list:
    """(identity, service, scope) an identity could plausibly ask for: a scope of a service of its
    trust boundary that no live grant gives it yet."""
    now = timezone.now()
    candidates = []
    for identity in sorted(identities, key=lambda i: i.name):
        for service in sorted(_services_for(identity), key=lambda s: s.name):
            held = {s for g in identity.grants.filter(service=service) if g.is_live(now) for s in g.scopes}
            candidates += [(identity, service, scope) for scope in service.scopes.all() if scope.name not in held]
    return candidates


def _request_access(active: list) -> None:
    """alice asks for access for three of her agents (her asking vouches, so each goes straight to the
    service stage): sam refuses one, rita approves one (a grant comes from it), one waits for rita."""
    User = get_user_model()
    alice, rita, sam = (User.objects.get(username=u) for u in ("alice", "rita", "sam"))
    mine = [i for i in active if i.ownerships.filter(person=alice, role="primary").exists()]
    candidates = _access_candidates(mine)
    if not candidates:
        return
    # The one left waiting asks for a plain scope, the refused one for a consequential scope if
    # there is one. A small demo has few candidates: then a later story reuses one (the earlier
    # request no longer waits, so asking again is allowed).
    waiting = next((c for c in candidates if not c[2].consequential), candidates[0])
    rest = [c for c in candidates if c is not waiting] or [waiting]
    refused = next((c for c in rest if c[2].consequential), rest[-1])
    approved = next((c for c in rest if c is not refused), refused)
    # (what, outcome, days asked): the waiting one last, so it tops the list.
    stories = [(refused, "reject", 80), (approved, "approve", 60), (waiting, "wait", 30)]
    for (identity, service, scope), outcome, days in stories:
        asked = access_request_create(
            actor=alice, identity=identity, service=service, scopes=[scope.name], ends_at=timezone.now() + timedelta(days=days),
            justification=ACCESS_JUSTIFICATIONS.get(scope.name, f"{identity.purpose} It needs {scope.name} on {service.name} for that."),
        )
        if outcome == "reject":
            access_request_reject(actor=sam, access_request=asked, reason=ACCESS_REFUSAL[scope.consequential])
        elif outcome == "approve":
            access_request_approve(actor=rita, access_request=asked, reason=ACCESS_NOTE)
