"""The demo inventory: believable identities, created through the inventory services (with
their audit trail) or, for benchmark-sized runs, bulk-inserted in batches."""

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone

from inventory import services
from inventory.models import (
    AIIdentity,
    Autonomy,
    Environment,
    IdentityUserObjectPermission,
    Kind,
    Ownership,
    OwnerRole,
    Sensitivity,
    Status,
)
from nhiportal.audit.services import audit_record, system_actor

A, S, H = Autonomy.AUTONOMOUS, Autonomy.SUPERVISED, Autonomy.HUMAN_IN_THE_LOOP
PUB, INT, CONF, RESTR = Sensitivity.PUBLIC, Sensitivity.INTERNAL, Sensitivity.CONFIDENTIAL, Sensitivity.RESTRICTED

# name, kind, trust boundary, sensitivity ceiling, autonomy, purpose
CATALOGUE = [
    ("invoice-triage-agent", Kind.AGENT, "finance-restricted", CONF, S, "Reads supplier invoices from the accounts-payable mailbox, matches them to purchase orders and routes exceptions to the approver."),
    ("support-copilot", Kind.ASSISTANT, "customer-facing", CONF, H, "Suggests replies to support agents in the helpdesk, grounded in the knowledge base and the customer's ticket history."),
    ("nightly-etl-loader", Kind.PIPELINE, "analytics-zone", CONF, A, "Loads the day's orders from the shop database into the warehouse every night at 02:00."),
    ("github-mcp-server", Kind.MCP_SERVER, "engineering", INT, S, "Exposes repository search, issue and pull-request tools to the engineering assistants."),
    ("refund-approval-agent", Kind.AGENT, "finance-restricted", RESTR, H, "Prepares refund decisions under 500 EUR for a person to approve in the back office."),
    ("sales-email-drafter", Kind.ASSISTANT, "corp-internal", CONF, H, "Drafts follow-up emails in the CRM after discovery calls; a sales rep reviews and sends them."),
    ("contract-clause-reviewer", Kind.AGENT, "corp-internal", RESTR, S, "Flags non-standard clauses in incoming NDAs and MSAs for the legal team."),
    ("oncall-incident-summarizer", Kind.AGENT, "engineering", INT, A, "Summarises incidents and their chat threads into a draft post-mortem for the on-call engineer."),
    ("hr-policy-assistant", Kind.ASSISTANT, "corp-internal", INT, S, "Answers employees' questions about leave and expenses from the HR handbook."),
    ("jira-mcp-server", Kind.MCP_SERVER, "engineering", INT, S, "Lets assistants read and create Jira issues in the projects they are granted."),
    ("vendor-risk-scorer", Kind.PIPELINE, "security-ops", CONF, A, "Scores new suppliers every week from their questionnaire answers and public breach data."),
    ("log-anomaly-detector", Kind.PIPELINE, "security-ops", CONF, A, "Watches sign-in logs for unusual patterns and opens tickets for the security team."),
    ("code-review-bot", Kind.AGENT, "engineering", INT, A, "Comments on pull requests with lint, missing-test and security findings."),
    ("expense-receipt-extractor", Kind.PIPELINE, "finance-restricted", CONF, A, "Extracts amounts, dates and merchants from receipt photos for the expense tool."),
    ("customer-churn-forecaster", Kind.PIPELINE, "analytics-zone", CONF, A, "Retrains the churn model weekly on CRM and billing data."),
    ("knowledge-base-indexer", Kind.PIPELINE, "customer-facing", PUB, A, "Embeds new help-centre articles into the search index every hour."),
    ("meeting-notes-assistant", Kind.ASSISTANT, "corp-internal", CONF, S, "Writes meeting notes and action items from recorded calls for the attendees."),
    ("procurement-quote-agent", Kind.AGENT, "partner-network", CONF, S, "Requests quotes from approved vendors and compares them for buyers."),
    ("postgres-mcp-server", Kind.MCP_SERVER, "analytics-zone", CONF, S, "Read-only SQL access to the analytics replica for the data assistants."),
    ("slack-mcp-server", Kind.MCP_SERVER, "corp-internal", INT, S, "Posts and reads messages in the chat channels it is invited to."),
    ("security-alert-triage-agent", Kind.AGENT, "security-ops", RESTR, S, "Enriches SIEM alerts with asset and identity context and closes known false positives."),
    ("payroll-reconciliation-job", Kind.PIPELINE, "finance-restricted", RESTR, A, "Reconciles payroll exports with the general ledger after each pay run."),
    ("marketing-copy-generator", Kind.ASSISTANT, "corp-internal", PUB, H, "Drafts campaign copy variants in the marketing workspace."),
    ("translation-agent", Kind.AGENT, "customer-facing", PUB, S, "Translates help-centre articles into German, French and Spanish for review."),
    ("access-review-assistant", Kind.ASSISTANT, "security-ops", CONF, H, "Prepares quarterly access-review packets for managers."),
    ("docs-qa-bot", Kind.ASSISTANT, "engineering", INT, S, "Answers developers' questions from the internal API documentation."),
    ("crm-data-cleaner", Kind.PIPELINE, "corp-internal", CONF, A, "Deduplicates CRM contacts and fixes malformed phone numbers every night."),
    ("invoice-dunning-agent", Kind.AGENT, "customer-facing", CONF, S, "Sends payment reminders for overdue invoices, following the dunning policy."),
    ("kubernetes-mcp-server", Kind.MCP_SERVER, "engineering", INT, H, "Lets the platform assistant read cluster state and restart deployments in staging."),
    ("threat-intel-summarizer", Kind.AGENT, "security-ops", INT, A, "Summarises new threat-intelligence reports relevant to our stack each morning."),
    ("sql-report-builder", Kind.ASSISTANT, "analytics-zone", CONF, S, "Turns analysts' questions into SQL against the warehouse."),
    ("customer-onboarding-agent", Kind.AGENT, "customer-facing", RESTR, H, "Walks new business customers through account setup and KYC document upload."),
    ("fraud-signal-scorer", Kind.PIPELINE, "finance-restricted", RESTR, A, "Scores card transactions for fraud signals in near real time."),
    ("release-notes-writer", Kind.AGENT, "engineering", INT, S, "Drafts release notes from merged pull requests for the product managers."),
    ("recruiting-screening-assistant", Kind.ASSISTANT, "corp-internal", RESTR, H, "Summarises CVs against the job description for recruiters; it never rejects anyone on its own."),
    ("backup-verification-job", Kind.PIPELINE, "engineering", CONF, A, "Restores last night's database backups into a sandbox and checks row counts."),
    ("gdrive-mcp-server", Kind.MCP_SERVER, "corp-internal", CONF, S, "Search and read access to the shared drives the asking person can already open."),
    ("pricing-experiment-agent", Kind.AGENT, "customer-facing", INT, S, "Proposes price tests for the web shop and reads their results."),
    ("sbom-scanner", Kind.PIPELINE, "engineering", INT, A, "Builds a software bill of materials for each release and checks it against advisories."),
    ("travel-booking-assistant", Kind.ASSISTANT, "partner-network", CONF, H, "Books trains and hotels within the travel policy for employees who ask it to."),
    ("ticket-router", Kind.AGENT, "customer-facing", CONF, A, "Classifies inbound support tickets and assigns them to the right queue."),
    ("warehouse-forecast-pipeline", Kind.PIPELINE, "analytics-zone", INT, A, "Forecasts stock levels per warehouse for the next four weeks."),
    ("legal-hold-collector", Kind.PIPELINE, "corp-internal", RESTR, S, "Collects mailboxes and documents under legal hold into the evidence store."),
    ("confluence-mcp-server", Kind.MCP_SERVER, "corp-internal", INT, S, "Read access to Confluence spaces for the documentation assistants."),
    ("chargeback-dispute-agent", Kind.AGENT, "finance-restricted", RESTR, H, "Assembles evidence packets for card chargeback disputes."),
    ("sandbox-prompt-lab", Kind.AGENT, "sandbox", PUB, A, "Tries new prompts against synthetic data; it has no production access."),
    ("data-retention-enforcer", Kind.PIPELINE, "corp-internal", RESTR, A, "Deletes customer records past their retention period every week."),
    ("partner-api-helper", Kind.AGENT, "partner-network", INT, S, "Answers partners' API questions and issues sandbox keys to verified partners."),
]
OFFBOARDING_PLANS = {
    Kind.AGENT: "Disable its workload credential, end open tasks, revoke grants; keep prompts and logs for one year.",
    Kind.ASSISTANT: "Remove it from the workspace, revoke its grants, export conversation logs to the archive.",
    Kind.PIPELINE: "Remove the schedule, revoke its grants, drop its staging tables after 30 days.",
    Kind.MCP_SERVER: "Unregister it from the assistants, revoke its credential, shut the container down.",
}
SUSPEND_REASONS = [
    "Credential found in a public repository; rotating before it runs again.",
    "Unexpected calls to the payments API under investigation.",
    "Owner asked to pause it during the vendor migration.",
    "Attestation overdue past the grace period.",
]
OFFBOARD_REASONS = [
    "Project ended.",
    "Replaced by a newer version.",
    "Vendor contract terminated.",
    "Pilot finished; not going to production.",
]
ENVIRONMENTS = [Environment.PRODUCTION] * 12 + [Environment.STAGING] * 4 + [Environment.DEVELOPMENT] * 3 + [Environment.SANDBOX]
STATUSES = [Status.ACTIVE] * 12 + [Status.REGISTERED] * 3 + [Status.SUSPENDED] * 3 + [Status.OFFBOARDED] * 3
# One in six live identities has its attestation overdue, so the dashboard has work to show.
OVERDUE_SHARE = 6
# Production agents in these zones are bound to their networks (the rest show "any" on their page).
ZONE_NETWORKS = {"corp-internal": ["10.20.0.0/16", "2001:db8:20::/48"], "analytics-zone": ["10.40.0.0/16"]}


@dataclass
class IdentitySpec:
    name: str
    kind: str
    environment: str
    trust_boundary: str
    sensitivity: int
    autonomy: str
    purpose: str
    offboarding_plan: str
    primary: object
    backups: list = field(default_factory=list)
    status: str = Status.ACTIVE
    overdue: bool = False
    age_days: int = 90


def _name(index: int, *, width: int = 0) -> tuple:
    entry = CATALOGUE[index % len(CATALOGUE)]
    round_ = index // len(CATALOGUE)
    if width:
        return f"{entry[0]}-{index:0{width}d}", entry
    return (entry[0] if round_ == 0 else f"{entry[0]}-{round_ + 1}"), entry


def identity_specs(count: int, *, owners: list, leavers: list, rng: random.Random) -> list[IdentitySpec]:
    """`count` identities: alice and bob own the first ones, each leaver alone owns two (orphans)."""
    specs = []
    for index in range(count):
        name, (_, kind, boundary, sensitivity, autonomy, purpose) = _name(index)
        status = rng.choice(STATUSES)
        if index < 8:
            primary = owners[0]
        elif index < 14:
            primary = owners[1]
        elif index < 14 + 2 * len(leavers):
            primary = leavers[(index - 14) // 2]
        else:
            primary = rng.choice(owners)
        backups = []
        if primary in leavers:
            status = Status.ACTIVE  # still running, nobody left to answer for it
        elif rng.random() < 0.6:
            backups = [rng.choice([o for o in owners if o != primary])]
        plan = OFFBOARDING_PLANS[kind]
        if status == Status.REGISTERED and rng.random() < 0.5:
            plan = ""  # a draft: activation will list what is missing
        specs.append(
            IdentitySpec(
                name=name,
                kind=kind,
                environment=Environment.SANDBOX if boundary == "sandbox" else rng.choice(ENVIRONMENTS),
                trust_boundary=boundary,
                sensitivity=sensitivity,
                autonomy=autonomy,
                purpose=purpose,
                offboarding_plan=plan,
                primary=primary,
                backups=backups,
                status=status,
                overdue=status in (Status.ACTIVE, Status.SUSPENDED) and rng.randrange(OVERDUE_SHARE) == 0,
                age_days=rng.randint(20, 420),
            )
        )
    return specs


@dataclass
class Outcome:
    identities: list = field(default_factory=list)
    not_activated: Counter = field(default_factory=Counter)


def create_identities(
    specs: list[IdentitySpec], *, admin, rng: random.Random, prepare_identity: Callable | None = None
) -> Outcome:
    """Register each identity and walk it to its target status through the services, so every
    step has its audit event. An activation the lifecycle refuses leaves the identity registered."""
    outcome = Outcome()
    for spec in specs:
        owner = spec.primary
        identity = services.identity_register(
            actor=owner,
            name=spec.name,
            kind=spec.kind,
            environment=spec.environment,
            primary_owner=owner,
            backup_owners=spec.backups,
            purpose=spec.purpose,
            trust_boundary=spec.trust_boundary,
            autonomy=spec.autonomy,
            sensitivity_ceiling=spec.sensitivity,
            offboarding_plan=spec.offboarding_plan,
            allowed_networks=ZONE_NETWORKS.get(spec.trust_boundary, []) if spec.environment == Environment.PRODUCTION else [],
        )
        activated = False
        if spec.status in (Status.ACTIVE, Status.SUSPENDED) or (spec.status == Status.OFFBOARDED and rng.random() < 0.6):
            if prepare_identity is not None:
                prepare_identity(identity)
            try:
                identity = services.identity_activate(actor=owner, identity=identity, reason="Reviewed for go-live.")
                activated = True
            except services.TransitionRefused as refused:
                outcome.not_activated.update(refused.missing)
        if activated and spec.status == Status.ACTIVE and not spec.overdue and rng.random() < 0.5:
            services.identity_attest(actor=owner, identity=identity, note="Still needed; scope unchanged.")
        if activated and spec.status == Status.SUSPENDED:
            actor = admin if rng.random() < 0.5 else owner
            identity = services.identity_suspend(actor=actor, identity=identity, reason=rng.choice(SUSPEND_REASONS))
        if spec.status == Status.OFFBOARDED:
            identity = services.identity_offboard(actor=owner, identity=identity, reason=rng.choice(OFFBOARD_REASONS))
        _backdate(identity, spec, rng)
        outcome.identities.append(identity)
    return outcome


def _backdate(identity: AIIdentity, spec: IdentitySpec, rng: random.Random) -> None:
    """Spread the demo over the past year so lists, charts and due dates look lived in.

    Demo only, and unaudited on purpose: it moves timestamps, not state. The audit log
    keeps the true times the events were written."""
    now = timezone.now()
    created = now - timedelta(days=spec.age_days)
    changes = {"created_at": created, "status_changed_at": created + timedelta(days=rng.randint(0, min(spec.age_days, 20)))}
    identity.refresh_from_db(fields=["status", "attestation_due", "last_attested_at"])
    if identity.status in (Status.ACTIVE, Status.SUSPENDED):
        today = timezone.localdate()
        due = today - timedelta(days=rng.randint(3, 45)) if spec.overdue else today + timedelta(days=rng.randint(2, 88))
        changes["attestation_due"] = due
        if identity.last_attested_at or spec.overdue:
            changes["last_attested_at"] = now - timedelta(days=(today - due).days + 90)
    AIIdentity.objects.filter(pk=identity.pk).update(**changes)


def _owner_permissions() -> list[Permission]:
    codenames = [perm.split(".")[1] for perm in services.OWNER_PERMS]
    return list(Permission.objects.filter(content_type__app_label="inventory", codename__in=codenames))


def bulk_create_identities(
    count: int,
    *,
    start: int,
    owners: list,
    rng: random.Random,
    batch_size: int = 1000,
    prepare_bulk: Callable | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Insert `count` identities in batches, for benchmark-sized inventories.

    Each batch is one transaction: the identities, their owners and owner permissions, and
    one summary audit event (through audit_record, so the chain stays valid). Per-identity
    histories are what the service path is for; this path trades them for speed."""
    perms = _owner_permissions()
    actor = system_actor("demo_data")
    width = len(str(start + count))
    today = timezone.localdate()
    now = timezone.now()
    done = 0
    while done < count:
        size = min(batch_size, count - done)
        identities, ownerships, owner_perms = [], [], []
        for index in range(start + done, start + done + size):
            name, (_, kind, boundary, sensitivity, autonomy, purpose) = _name(index, width=width)
            status = rng.choice(STATUSES)
            created = now - timedelta(days=rng.randint(1, 720))
            live = status in (Status.ACTIVE, Status.SUSPENDED)
            overdue = live and rng.randrange(OVERDUE_SHARE) == 0
            due = None
            if live:
                due = today - timedelta(days=rng.randint(1, 60)) if overdue else today + timedelta(days=rng.randint(1, 89))
            identity = AIIdentity(
                name=name,
                kind=kind,
                environment=rng.choice(ENVIRONMENTS),
                trust_boundary=boundary,
                sensitivity_ceiling=sensitivity,
                autonomy=autonomy,
                purpose=purpose,
                offboarding_plan=OFFBOARDING_PLANS[kind],
                status=status,
                status_reason=rng.choice(SUSPEND_REASONS if status == Status.SUSPENDED else OFFBOARD_REASONS)
                if status in (Status.SUSPENDED, Status.OFFBOARDED)
                else "",
                status_changed_at=created,
                attestation_due=due,
                created_at=created,
                updated_at=created,
            )
            identities.append(identity)
            people = [(rng.choice(owners), OwnerRole.PRIMARY)]
            if rng.random() < 0.6:
                people.append((rng.choice([o for o in owners if o != people[0][0]]), OwnerRole.BACKUP))
            for person, role in people:
                # Owners of long standing, not people someone just made owner: nothing to tell them.
                ownerships.append(Ownership(identity=identity, person=person, role=role, since=created, notified_at=created))
                owner_perms.extend(
                    IdentityUserObjectPermission(content_object=identity, user=person, permission=perm) for perm in perms
                )
        with transaction.atomic():
            AIIdentity.objects.bulk_create(identities)
            Ownership.objects.bulk_create(ownerships)
            IdentityUserObjectPermission.objects.bulk_create(owner_perms)
            if prepare_bulk is not None:
                prepare_bulk(identities)
            audit_record(
                actor=actor,
                action="identity.bulk_register",
                object_type="inventory.aiidentity",
                object_id=f"demo-{start + done}-{start + done + size - 1}",
                object_repr=f"{size} demo identities",
                after={
                    "count": size,
                    "first": identities[0].name,
                    "last": identities[-1].name,
                    "by_status": dict(Counter(i.status for i in identities)),
                },
                reason="Bulk demo data for a benchmark-sized inventory.",
            )
        done += size
        if progress is not None:
            progress(done)
    return done

