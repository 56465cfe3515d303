"""Live evidence: one read per control, run when someone looks (reads only; nothing is cached).

Each function answers "does the portal's data show the control working right now?" with a
status, a sentence, a few figures, and the identities that are the exceptions (the first
FINDINGS_SHOWN, with the total), so a reviewer can go and fix them.
"""

import math
import statistics
import uuid
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, Max, OuterRef, Q, Window
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone

from inventory.models import AIIdentity, Attestation, AttestationReview, Autonomy, Campaign, Environment, Status
from inventory.lifecycle import lapse_cutoff
from inventory.people import DECIDES_ACCESS, decides_access_q, kept_by_directory_q, owns_in_service_q
from inventory.filters import (
    REVIEW_DAYS, attesting_q, directory_owned_q, holds_access_q, no_due_date_q, rate_limited_q, rate_refused_q, unreviewed_old_access_q,
)
from inventory.selectors import attestation_overdue_q, orphaned_q, undocumented_q
from nhiportal.audit.models import AuditEvent
from nhiportal.audit.selectors import audit_chain_verify
from nhiportal.conf import nhi_setting
from nhiportal.people.models import EXPOSED, DirectoryEntry, PersonalAPIToken, SecondFactor
from nhiportal.people.single_sign_on import sso_enabled
from nhiportal.sweep.selectors import STALLED, sweep_status
from nhiportal.time_window import start_of
from tokens.models import (
    AccessRequest, AccessRequestState, AccessReview, CredentialKind, Exposure, FederatedIssuer, Grant, IssuedToken, KeyState,
    Service, ServiceScope, SigningKey, Task, TokenPace, TrustDomain, WorkloadCredential,
)
from tokens.policy.filters import evaluation_errors_q
from tokens.policy.models import Decision, PolicyDecision, PolicyMode, PolicyVersion
from tokens.rate_limit import SLOWED_DAYS, per_minute
from tokens.federation import subject_prefix, subjects_overlap
from tokens.filters import (
    METADATA_STALE, UNTRIAGED_AFTER, approved_by_owner_q, approved_q, crossing_q, granted_by_a_party_q, metadata_differs_q, outlived_q, runs_beyond_q,
    scheduled_q, untold_q, untriaged_q, usage_unchecked_q, usage_unjudged_q,
)
from tokens.rotation import due_for_rotation as credentials_due, max_age_days as credential_max_age_days
from tokens.source_networks import NEW_NETWORK_DAYS, new_networks
from tokens.unused_identities import unused_identities as idle_identities
from tokens.usage import unused as unused_grants, window_days as usage_window_days

PASS, WARN, FAIL = "pass", "warn", "fail"
FINDINGS_SHOWN = 50
RECENT_DAYS = 30  # the window of "recent" issuance the token controls look at
LONG_GRANT_DAYS = 365
REVIEW_WINDOW_DAYS = 90  # attestations whose review NHIP-03 reports
AUDIT_TAIL = 2000  # events whose chain the page re-verifies; `manage.py audit_verify` walks them all
SCANNED_TASKS = 10_000
UNTRIAGED_HOURS = int(UNTRIAGED_AFTER.total_seconds() // 3600)


@dataclass(frozen=True)
class Finding:
    identity_id: uuid.UUID | None
    name: str
    detail: str


@dataclass
class Evidence:
    status: str
    summary: str
    figures: dict = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    findings_total: int = 0
    # Figure name -> the portal list that shows the rows it counts (to a reader who sees
    # everything, as compliance staff do): the same filter, so the same number of rows.
    links: dict = field(default_factory=dict)

    @property
    def figure_rows(self) -> list[tuple]:
        """(name, value, link or None) of each figure, in order."""
        return [(name, value, self.links.get(name)) for name, value in self.figures.items()]

    def linked(self, **links) -> "Evidence":
        """The evidence with `links` (figure name -> URL) for those of its figures it has."""
        self.links = {name: url for name, url in links.items() if name in self.figures}
        return self


def _list(url_name: str, **query) -> str:
    """A portal list, filtered as a figure counts."""
    return reverse(url_name) + (f"?{urlencode({k: str(v) for k, v in query.items()})}" if query else "")


def _identities(**query) -> str:
    return _list("inventory:identity-list", **query)


IDENTITY_FIELDS = ("id", "name", "status", "status_changed_at", "attestation_due", "purpose", "trust_boundary", "sensitivity_ceiling", "offboarding_plan")


def _no_evidence(what: str, figures: dict) -> Evidence:
    """The control has nothing to judge (an empty portal, say): not a pass, since no data shows
    it working, and an auditor must not read an absence of data as a control operating."""
    return Evidence(WARN, f"No evidence yet: {what}", figures)


def _at(moment) -> str:
    """A time in the evidence text, which the exports carry as it is: its zone said."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _identity_findings(queryset, detail, **also) -> tuple[list[Finding], int, dict]:
    """Findings for a queryset of identities, `detail(identity)` saying what is wrong with each;
    their total; and the extra counts asked for (name=Q). One query: the counts ride along
    on the first FINDINGS_SHOWN rows (by name) as window aggregates."""
    counts = {"total": Window(Count("pk"))} | {name: Window(Count("pk", filter=q)) for name, q in also.items()}
    shown = list(queryset.only(*IDENTITY_FIELDS).annotate(**{f"_{k}": v for k, v in counts.items()}).order_by("name")[:FINDINGS_SHOWN])
    totals = {k: getattr(shown[0], f"_{k}") if shown else 0 for k in counts}
    total = totals.pop("total")
    return [Finding(i.pk, i.name, detail(i)) for i in shown], total, totals


def _in_service():
    return AIIdentity.objects.exclude(status=Status.OFFBOARDED)


def owned(now) -> Evidence:
    total = _in_service().count()
    if not total:
        return _no_evidence("no identity is in service, so none shows an owner.", {"identities in service": 0, "without an active owner": 0})
    findings, count, also = _identity_findings(
        AIIdentity.objects.filter(orphaned_q()), lambda i: f"{i.get_status_display()}: no active owner",
        active=Q(status=Status.ACTIVE),
    )
    return Evidence(
        FAIL if also["active"] else WARN if count else PASS,
        f"{total - count} of {total} identities in service have an active owner.",
        {"identities in service": total, "without an active owner": count},
        findings, count,
    ).linked(**{"identities in service": _identities(in_service="true"), "without an active owner": _identities(orphaned="true")})


def documented(now) -> Evidence:
    total = _in_service().count()
    if not total:
        return _no_evidence("no identity is in service, so none shows its record.", {"identities in service": 0, "incomplete": 0})
    gaps = _in_service().filter(undocumented_q())

    def what(identity):
        absent = [label for label, value in (
            ("purpose", identity.purpose), ("trust boundary", identity.trust_boundary),
            ("sensitivity ceiling", identity.sensitivity_ceiling), ("offboarding plan", identity.offboarding_plan),
        ) if value in ("", None)]
        return f"{identity.get_status_display()}: no {', '.join(absent)}"

    findings, count, also = _identity_findings(gaps, what, in_use=~Q(status=Status.REGISTERED))
    # A registered identity is a draft (activation refuses it while anything is missing).
    return Evidence(
        FAIL if also["in_use"] else WARN if count else PASS,
        f"{total - count} of {total} identities in service record purpose, trust boundary, sensitivity ceiling and offboarding plan.",
        {"identities in service": total, "incomplete": count},
        findings, count,
    ).linked(**{"identities in service": _identities(in_service="true"), "incomplete": _identities(in_service="true", documented="false")})


def attested(now) -> Evidence:
    # Each as the inventory's filters read it (inventory/filters.py), behind the figures' links.
    total = AIIdentity.objects.filter(attesting_q()).count()
    if not total:
        return _no_evidence("no identity is active or suspended, so none was due to attest.", {"attested identities": 0, "overdue": 0})
    # Activation sets the due date, but the admin can clear it: an identity without one is
    # never overdue, so the sweep never suspends it. Not on time: never asked.
    unscheduled = no_due_date_q() & attesting_q()
    findings, count, also = _identity_findings(
        AIIdentity.objects.filter(attestation_overdue_q() | unscheduled),
        lambda i: f"attestation due {i.attestation_due:%Y-%m-%d}" if i.attestation_due else "no attestation due date: never asked to attest",
        # Past grace and still active: the sweep should have suspended it (inventory/lapses.py).
        # One it did suspend is still a finding, but access is contained: a warning.
        past_grace=Q(attestation_due__lte=lapse_cutoff(), status=Status.ACTIVE),
        unscheduled_active=no_due_date_q() & Q(status=Status.ACTIVE),
        unscheduled=no_due_date_q(),
    )
    # An identity with no due date is not overdue (no date has passed), it is never asked: it
    # counts among the exceptions but not as overdue, which reads as the inventory's filter does.
    overdue = count - also["unscheduled"]
    # The latest campaign's answer rate: what a reviewer reports after asking everyone at once.
    latest = Campaign.objects.annotate(
        asked=Count("items"), answered=Count("items", filter=Q(items__attestation__isnull=False))
    ).order_by("-launched_at", "-id").first()
    campaign = {"latest campaign answered": f"{latest.answered} of {latest.asked} ({latest.name})"} if latest else {}
    # A second person's review of the owners' word (inventory/attestation_reviews.py).
    reviews = dict(
        Attestation.objects.filter(attested_at__gte=now - timedelta(days=REVIEW_WINDOW_DAYS))
        .values_list("review").annotate(n=Count("pk"))
    )
    reviewed = {
        f"attestations of the last {REVIEW_WINDOW_DAYS} days reviewed": (
            f"{reviews.get(AttestationReview.CONFIRMED, 0)} confirmed, {reviews.get(AttestationReview.REJECTED, 0)} rejected, "
            f"{reviews.get(AttestationReview.PENDING, 0)} waiting"
        )
    }
    return Evidence(
        FAIL if also["past_grace"] or also["unscheduled_active"] else WARN if count else PASS,
        f"{total - count} of {total} active or suspended identities were attested on time"
        + (f"; {also['past_grace']} active past the {nhi_setting('ATTESTATION_GRACE_DAYS')} days' grace" if also["past_grace"] else "")
        + (f"; {also['unscheduled_active']} active with no attestation due date" if also["unscheduled_active"] else "") + ".",
        {"attested identities": total, "overdue": overdue, "grace (days)": nhi_setting("ATTESTATION_GRACE_DAYS"),
         **({"no due date": also["unscheduled"]} if also["unscheduled"] else {}), **campaign, **reviewed},
        findings, count,
    ).linked(**{
        "attested identities": _identities(attesting="true"), "overdue": _identities(attestation_overdue="true"),
        "no due date": _identities(attesting="true", no_due_date="true"),
    })


def _enabled_credential():
    return WorkloadCredential.objects.filter(identity=OuterRef("pk"), enabled=True)


def workload_identity(now) -> Evidence:
    active = AIIdentity.objects.filter(status=Status.ACTIVE)
    bare = active.exclude(Exists(_enabled_credential()))
    findings, count, _ = _identity_findings(bare, lambda i: "active with no enabled workload credential")
    kinds = dict(WorkloadCredential.objects.filter(enabled=True).values_list("kind").annotate(n=Count("pk")))
    evidence = Evidence(
        FAIL if count else PASS,
        "Agents prove themselves with a registered public key, a SPIFFE JWT-SVID or their platform's workload token "
        "(a federated issuer's); the portal accepts no shared secret.",
        {"active identities": active.count(), "public keys": kinds.get("jwk", 0), "SPIFFE IDs": kinds.get("spiffe", 0),
         "federated subjects": kinds.get("federated", 0),
         "federated subjects ending in * (a family of jobs)": WorkloadCredential.objects.filter(
             enabled=True, kind="federated", subject__endswith="*",
         ).count(),
         "federated issuers accepting a token again": FederatedIssuer.objects.filter(reusable=True, distrusted_at=None).count(),
         "trust domains and issuers no longer trusted": (
             TrustDomain.objects.exclude(distrusted_at=None).count() + FederatedIssuer.objects.exclude(distrusted_at=None).count()
         ),
         "static secrets": 0, "active without a credential": count},
        findings, count,
    )
    if not evidence.figures["active identities"]:
        return _no_evidence("no identity is active, so none has proved itself.", evidence.figures)
    return evidence.linked(**{
        "active identities": _identities(status=Status.ACTIVE), "public keys": _list("tokens:credential-list", kind=CredentialKind.JWK),
        "SPIFFE IDs": _list("tokens:credential-list", kind=CredentialKind.SPIFFE),
        "federated subjects": _list("tokens:credential-list", kind=CredentialKind.FEDERATED),
        "federated subjects ending in * (a family of jobs)": _list("tokens:credential-list", kind=CredentialKind.FEDERATED, wildcard="true"),
        "active without a credential": _identities(status=Status.ACTIVE, credential="false"),
    })


def _overlapping_subjects(enabled) -> set[int]:
    """Enabled federated credentials of different identities under one issuer that a single
    token's sub could both match. The database keeps exact subjects unique; a subject ending
    in * that covers another identity's is refused only by the registration service, so data
    loaded around it, or two registrations at once, can still overlap."""
    # One query, then per issuer a sorted list of each subject (a wildcard by its prefix):
    # whatever a wildcard covers, exact subject or narrower wildcard, sorts right after its
    # prefix, so each wildcard reads only its own run of the list. (A query per wildcard made
    # the compliance pages pay for every CI job family registered.)
    by_issuer = defaultdict(list)
    for pk, identity_id, issuer_id, subject in enabled.filter(kind=CredentialKind.FEDERATED).values_list(
        "pk", "identity_id", "federated_issuer_id", "subject"
    ):
        prefix = subject_prefix(subject)
        by_issuer[issuer_id].append((subject if prefix is None else prefix, pk, identity_id, subject))
    clashing = set()
    for rows in by_issuer.values():
        rows.sort()
        keys = [row[0] for row in rows]
        for _key, pk, identity_id, subject in rows:
            prefix = subject_prefix(subject)
            if prefix is None:
                continue
            at = bisect_left(keys, prefix)
            while at < len(rows) and keys[at].startswith(prefix):
                _other_key, other_pk, other_identity, other_subject = rows[at]
                if other_identity != identity_id and subjects_overlap(subject, other_subject):
                    clashing |= {pk, other_pk}
                at += 1
    return clashing


def no_reuse(now) -> Evidence:
    enabled = WorkloadCredential.objects.filter(enabled=True)
    total = enabled.count()
    if not total:
        return _no_evidence("no workload credential is enabled, so none can be shared.", {"enabled credentials": 0, "shared": 0})

    def shared(kind, field):
        return list(enabled.filter(kind=kind).values(field).annotate(n=Count("identity", distinct=True))
                    .filter(n__gt=1).values_list(field, flat=True))

    keys, spiffe_ids = shared(CredentialKind.JWK, "thumbprint"), shared(CredentialKind.SPIFFE, "spiffe_id")
    subjects = _overlapping_subjects(enabled)
    sharing = (
        Q(kind=CredentialKind.JWK, thumbprint__in=keys) | Q(kind=CredentialKind.SPIFFE, spiffe_id__in=spiffe_ids) | Q(pk__in=subjects)
    )
    rows = enabled.filter(sharing) if keys or spiffe_ids or subjects else enabled.none()
    count = rows.count() if keys or spiffe_ids or subjects else 0

    def what(credential) -> str:
        if credential.kind == CredentialKind.JWK:
            return f"shares key {credential.thumbprint[:12]}… with another identity"
        if credential.kind == CredentialKind.SPIFFE:
            return f"shares {credential.spiffe_id} with another identity"
        return f"subject {credential.subject} could match another identity's tokens"

    findings = [
        Finding(c.identity_id, c.identity.name, what(c))
        for c in rows.select_related("identity").only("identity_id", "identity__name", "kind", "thumbprint", "spiffe_id", "subject")
        .order_by("identity__name")[:FINDINGS_SHOWN]
    ]
    return Evidence(
        FAIL if count else PASS,
        "Each enabled key, SPIFFE ID or federated subject belongs to one identity, so a token names the one system that asked.",
        {"enabled credentials": total, "shared": count},
        findings, count,
    ).linked(**{"enabled credentials": _list("tokens:credential-list")})


def short_lived_tokens(now) -> Evidence:
    ceiling = nhi_setting("TOKEN_TTL_CEILING")
    # The last 30 days by calendar date, as the tokens list's "Issued since" reads them, so each
    # linked figure is the number of rows behind its link.
    since = timezone.localdate(now) - timedelta(days=RECENT_DAYS)
    recent = IssuedToken.objects.filter(issued_at__gte=start_of(since))
    facts = recent.aggregate(
        n=Count("pk"), longest=Max(ExpressionWrapper(F("expires_at") - F("issued_at"), output_field=DurationField())),
        bound=Count("pk", filter=~Q(cnf_jkt="")),
    )
    # The ledger keeps microseconds of issued_at, the token whole seconds: round up.
    longest = math.ceil(facts["longest"].total_seconds()) if facts["longest"] is not None else 0
    too_long = recent.filter(expires_at__gt=F("issued_at") + timedelta(seconds=ceiling)).select_related("identity")
    count = too_long.count()
    findings = [Finding(t.identity_id, t.identity.name, f"token {t.jti[:8]}… lived {math.ceil((t.expires_at - t.issued_at).total_seconds())} s")
                for t in too_long.order_by("-issued_at")[:FINDINGS_SHOWN]]
    figures = {f"issued, last {RECENT_DAYS} days": facts["n"], "longest lifetime (s)": longest, "ceiling (s)": ceiling,
               "live now": recent.filter(revoked_at__isnull=True, expires_at__gt=now).count(),
               # Holder-of-key (FAL3 by analogy): a copy of such a token is useless without the agent's key.
               "bound to the agent's key (DPoP)": facts["bound"],
               "services taking only bound tokens": Service.objects.filter(is_active=True, requires_dpop=True).count()}
    if not facts["n"]:
        return _no_evidence(f"no token was issued in the last {RECENT_DAYS} days, so none shows how long tokens live.", figures)
    return Evidence(
        FAIL if count else PASS,
        f"Tokens are per task, for one audience, and live at most {ceiling} s; the longest issued in the last {RECENT_DAYS} days lived {longest} s.",
        figures, findings, count,
    ).linked(**{
        f"issued, last {RECENT_DAYS} days": _list("tokens:issued-token-list", state="all", since=since.isoformat()),
        "live now": _list("tokens:issued-token-list", state="live", since=since.isoformat()),
        "bound to the agent's key (DPoP)": _list("tokens:issued-token-list", state="all", since=since.isoformat(), dpop="true"),
        "services taking only bound tokens": _list("tokens:service-list", active="true", dpop="true"),
    })


def policy_at_issuance(now) -> Evidence:
    active = PolicyVersion.objects.filter(is_active=True).first()
    # From this instant (to the second, so the link reads plainly), as the decision log's From
    # takes it: each figure is the rows behind its link.
    start = (now - timedelta(days=1)).astimezone(UTC).replace(microsecond=0)
    since = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    day = PolicyDecision.objects.filter(at__gte=start)
    by_outcome = dict(day.values_list("enforced").annotate(n=Count("pk")))
    errors = day.filter(evaluation_errors_q()).count()
    figures = {"active version": active.number if active else "none", "mode": active.get_mode_display() if active else "—",
               "decisions, last 24 h": sum(by_outcome.values()), "allowed": by_outcome.get("allow", 0),
               "denied": by_outcome.get("deny", 0), "evaluation errors (denied)": errors}
    links = {
        "decisions, last 24 h": _list("policy:decision-list", since=since),
        "allowed": _list("policy:decision-list", since=since, enforced=Decision.ALLOW),
        "denied": _list("policy:decision-list", since=since, enforced=Decision.DENY),
        "evaluation errors (denied)": _list("policy:decision-list", since=since, errors="true"),
    }
    if active is None:
        return Evidence(
            WARN, "No version is active, so the shipped default policy decides, enforced: save it as a version to review and test it.", figures,
        ).linked(**links)
    if active.mode == PolicyMode.LOG_ONLY:
        return Evidence(WARN, f"Policy v{active.number} is log-only: it records what it would deny but allows it.", figures).linked(**links)
    return Evidence(
        WARN if errors else PASS,
        f"Cedar policy v{active.number} decides every issuance and exchange at request time, and every decision is recorded.",
        figures,
    ).linked(**links)


def least_privilege(now) -> Evidence:
    # Live as the grants list reads it: started, not ended, not revoked. A grant scheduled to
    # start later gives no access yet, but its end is decided already, so its length counts.
    standing = Grant.objects.filter(revoked_at__isnull=True, ends_at__gt=now)
    live = standing.filter(starts_at__lte=now)
    if not standing.exists():
        return _no_evidence("no grant is live, so none shows its scopes and end.", {"live grants": 0, f"ending beyond {LONG_GRANT_DAYS} days": 0})
    # By calendar day, as the grants list's "Gives access after" reads it (tokens/filters.py).
    beyond = timezone.localdate(now) + timedelta(days=LONG_GRANT_DAYS)
    long = Grant.objects.filter(runs_beyond_q(beyond)).select_related("identity", "service")
    count = long.count()
    findings = [Finding(g.identity_id, g.identity.name, f"{' '.join(g.scopes)} on {g.service.name} until {g.ends_at:%Y-%m-%d}")
                for g in long.order_by("-ends_at")[:FINDINGS_SHOWN]]
    return Evidence(
        WARN if count else PASS,
        f"Every grant names its scopes on one service and ends; none of the live or scheduled ones runs more than {LONG_GRANT_DAYS} days ahead."
        if not count else f"{count} live or scheduled grant{pluralize(count, ' runs,s run')} more than {LONG_GRANT_DAYS} days ahead.",
        {"live grants": live.count(), "scheduled to start later": Grant.objects.filter(scheduled_q(now)).count(),
         f"ending beyond {LONG_GRANT_DAYS} days": count},
        findings, count,
    ).linked(**{
        "live grants": _list("tokens:grant-list", state="live"),
        "scheduled to start later": _list("tokens:grant-list", state="scheduled"),
        f"ending beyond {LONG_GRANT_DAYS} days": _list("tokens:grant-list", state="all", runs_beyond=beyond.isoformat()),
    })


def key_rotation(now) -> Evidence:
    days = credential_max_age_days()
    enabled = WorkloadCredential.objects.filter(kind=CredentialKind.JWK, enabled=True)
    if not enabled.exists():
        figures = {"enabled public keys": 0, f"older than {days} days": 0}
        if not WorkloadCredential.objects.filter(enabled=True).exists():
            return _no_evidence("no workload credential is enabled, so no key shows its age.", figures)
        return Evidence(PASS, "No enabled public key: agents prove themselves with SPIFFE IDs or federated tokens, which leave no key of theirs to rotate.", figures)
    due = credentials_due(now).select_related("identity").order_by("created_at")
    count = due.count()
    findings = [Finding(c.identity_id, c.identity.name, f"key {c.label or c.kid} added {c.created_at:%Y-%m-%d}") for c in due[:FINDINGS_SHOWN]]
    return Evidence(
        WARN if count else PASS,
        f"Every enabled public key is younger than {days} days."
        if not count else f"{count} enabled public key{pluralize(count, ' is,s are')} older than {days} days: rotate {pluralize(count, 'it,them')}.",
        {"enabled public keys": enabled.count(), f"older than {days} days": count},
        findings, count,
    ).linked(**{
        "enabled public keys": _list("tokens:credential-list", kind=CredentialKind.JWK),
        f"older than {days} days": _list("tokens:credential-list", kind=CredentialKind.JWK, rotation_due="true"),
    })


def unused_access(now) -> Evidence:
    live = Grant.objects.filter(revoked_at__isnull=True, starts_at__lte=now, ends_at__gt=now)
    days = usage_window_days()
    if not live.exists():
        return _no_evidence("no grant is live, so there is no use to judge.", {"live grants": 0, f"with a scope unused for {days} days": 0})
    found = unused_grants(live).select_related("identity", "service").order_by("starts_at", "pk")
    count = found.count()
    findings = [
        Finding(g.identity_id, g.identity.name,
                f"{' '.join(g.unused_scopes)} on {g.service.name}: no token in {days} days"
                + (f", last used {g.last_used_at:%Y-%m-%d} for other scopes" if g.last_used_at else ""))
        for g in found[:FINDINGS_SHOWN]
    ]
    figures = {"live grants": live.count(), f"with a scope unused for {days} days": count}
    # Each as the grants list's "Usage check" filter reads it (tokens/filters.py).
    unchecked = live.filter(usage_unchecked_q()).count()
    if unchecked:
        figures["not checked yet (grant_usage runs hourly)"] = unchecked
    # A grant is judged only by a grant_usage run after its first whole window (tokens/usage.py):
    # one old enough that no run has judged it (a day's slack for the hourly run) is unknown,
    # not in use, and must not pass for want of a look.
    unjudged = live.filter(usage_unjudged_q(now, days)).count()
    if unjudged:
        figures[f"older than {days} days, never judged (is grant_usage running?)"] = unjudged
    links = {"live grants": _list("tokens:grant-list", state="live"), f"with a scope unused for {days} days": _list("tokens:grant-list", state="unused"),
             "not checked yet (grant_usage runs hourly)": _list("tokens:grant-list", state="live", usage="unchecked"),
             f"older than {days} days, never judged (is grant_usage running?)": _list("tokens:grant-list", state="live", usage="unjudged")}
    if unjudged and not count:
        return Evidence(
            WARN, f"{unjudged} live grant{pluralize(unjudged, ' is,s are')} older than {days} days but no grant_usage run has judged "
            f"{pluralize(unjudged, 'its,their')} use: nothing shows {pluralize(unjudged, 'it,them')} used.", figures, findings, count,
        ).linked(**links)
    return Evidence(
        WARN if count or unjudged else PASS,
        f"Every live grant older than {days} days had each of its scopes used by a token in that time."
        if not count else f"{count} live grant{pluralize(count, ' holds,s hold')} a scope no token carried in {days} days.",
        figures, findings, count,
    ).linked(**links)


def identities_in_use(now) -> Evidence:
    days = usage_window_days()
    findings, count, _ = _identity_findings(
        idle_identities(AIIdentity.objects.all(), now=now),
        lambda i: f"active since {i.status_changed_at:%Y-%m-%d}, no token in {days} days",
    )
    active = AIIdentity.objects.filter(status=Status.ACTIVE).count()
    if not active:
        return _no_evidence("no identity is active, so none shows whether it is used.", {"active identities": 0, f"no token in {days} days": 0})
    return Evidence(
        WARN if count else PASS,
        f"Every identity active for {days} days obtained a token in that time."
        if not count else f"{count} of {active} active identities obtained no token in {days} days: offboard what is gone.",
        {"active identities": active, f"no token in {days} days": count},
        findings, count,
    ).linked(**{"active identities": _identities(status=Status.ACTIVE), f"no token in {days} days": _list("tokens:unused-identity-list")})


def owners_in_directory(now) -> Evidence:
    # As the people list's "Owns identities in service" and "Kept by the directory" read them.
    owners = get_user_model().objects.filter(is_active=True).filter(owns_in_service_q())
    people = owners.count()
    kept = owners.filter(kept_by_directory_q(OuterRef("pk"))).count()
    # As the inventory's "Owner kept by the directory" filter reads it (inventory/filters.py).
    lacking = _in_service().exclude(orphaned_q()).exclude(directory_owned_q())
    findings, count, _ = _identity_findings(
        lacking, lambda i: "no active owner is kept by the directory: their leaving is known only if someone deactivates them here",
    )
    figures = {"active owners": people, "kept by the directory": kept, "identities no such owner answers for": count}
    links = {"active owners": _list("inventory:person-list", owns="true"),
             "kept by the directory": _list("inventory:person-list", owns="true", kept="true"),
             "identities no such owner answers for": _identities(in_service="true", orphaned="false", directory_owner="false")}
    if not _in_service().exists():
        return _no_evidence("no identity is in service, so no owner shows whether the directory keeps them.", figures)
    if not sso_enabled() and not DirectoryEntry.objects.exists():
        return Evidence(
            WARN, "Neither single sign-on nor directory sync is set up: an owner who leaves stays active here until a security admin deactivates them.",
            figures, findings, count,
        ).linked(**links)
    return Evidence(
        WARN if count else PASS,
        f"Every identity in service has an owner the directory keeps ({kept} of {people} active owners)."
        if not count else f"{count} identit{pluralize(count, 'y,ies')} in service answer{pluralize(count, 's,')} only to owners the directory does not keep ({kept} of {people} active owners are).",
        figures, findings, count,
    ).linked(**links)


def access_reviewed(now) -> Evidence:
    """Access held for over a year was confirmed in an access review within the year."""
    # Each as the inventory's "Unreviewed old access" and the access reviews' "Closed since"
    # filters read it (inventory/filters.py, tokens/filters.py): the rows behind the links.
    findings, count, _ = _identity_findings(
        AIIdentity.objects.filter(unreviewed_old_access_q(now)),
        lambda i: f"holds a grant older than {REVIEW_DAYS} days that no access review kept in that time",
    )
    since = timezone.localdate(now) - timedelta(days=REVIEW_DAYS)
    closed = AccessReview.objects.filter(closed_at__date__gte=since).count()
    links = {"reviews closed in the year": _list("tokens:access-review-list", closed_since=since.isoformat()),
             "identities with unreviewed old access": _identities(unreviewed_access="true")}
    if not Grant.objects.filter(revoked_at__isnull=True, ends_at__gt=now).exists():
        return _no_evidence("no grant is live, so no access shows whether it was reviewed.",
                            {"reviews closed in the year": closed, "identities with unreviewed old access": 0},
                            ).linked(**{"reviews closed in the year": links["reviews closed in the year"]})
    return Evidence(
        WARN if count else PASS,
        f"Every grant held for over {REVIEW_DAYS} days was kept in an access review within them ({closed} review{pluralize(closed)} closed in the year)."
        if not count else f"{count} identit{pluralize(count, 'y holds,ies hold')} access older than {REVIEW_DAYS} days that no access review confirmed.",
        {"reviews closed in the year": closed, "identities with unreviewed old access": count},
        findings, count,
    ).linked(**links)


def two_factors(now) -> Evidence:
    """People who decide access (reviewers, security admins) and may sign in with a password."""
    deciders = get_user_model().objects.filter(is_active=True).filter(decides_access_q()).distinct()
    # The people list's Role filter reads them so (its default state: active).
    links = {"people who decide access": _list("inventory:person-list", role=DECIDES_ACCESS),
             "password alone": _list("inventory:person-list", role=DECIDES_ACCESS, sign_in="password_alone")}
    total = deciders.count()
    if not total:
        return _no_evidence("nobody active reviews or administers security, so nobody shows how those who decide access sign in.",
                            {"people who decide access": 0})
    if not settings.PASSWORD_SIGN_IN:
        return Evidence(
            PASS, "Passwords are off: everyone signs in through single sign-on and its second factor.", {"people who decide access": total},
        ).linked(**links)
    # An unusable password (single sign-on or directory people) starts with "!".
    alone = deciders.exclude(password__startswith="!").exclude(Exists(SecondFactor.objects.filter(user=OuterRef("pk")))).order_by("username")
    count = alone.count()
    findings = [Finding(None, person.get_username(), "decides access and signs in with a password alone") for person in alone[:FINDINGS_SHOWN]]
    return Evidence(
        WARN if count else PASS,
        f"Every one of the {total} people who decide access signs in with a second factor or through single sign-on."
        if not count else f"{count} of {total} people who decide access sign in with a password alone.",
        {"people who decide access": total, "password alone": count}, findings, count,
    ).linked(**links)


def _outliving_their_grant(live, now) -> list:
    """Live tokens whose grant was revoked or has ended, and that no live grant on the service
    covers: what grant revocation (tokens/revocation.py, revoke_not_covered_by_grants) keeps
    live is only what another grant still covers. A grant renewed (the old one revoked, a new
    one covering) leaves a whole token lifetime's worth of such tokens, of one identity and
    service: what covers them is read once per identity and service, not once per token."""
    outliving = []
    ended = live.filter(Q(grant__revoked_at__isnull=False) | Q(grant__ends_at__lte=now)).select_related("identity", "grant")
    covering = {}
    for token in ended.order_by("-issued_at")[:SCANNED_TASKS]:
        key = (token.identity_id, token.grant.service_id)
        if key not in covering:
            covering[key] = {scope for scopes in Grant.objects.filter(
                identity_id=token.identity_id, service_id=token.grant.service_id, revoked_at__isnull=True, starts_at__lte=now, ends_at__gt=now,
            ).values_list("scopes", flat=True) for scope in scopes}
        if not set(token.scopes) <= covering[key]:
            outliving.append(token)
    return outliving


def ending_access(now) -> Evidence:
    live = IssuedToken.objects.filter(revoked_at__isnull=True, expires_at__gt=now)
    # Each as the tokens list's "Outlived" and the inventory's "Holds access" filters read it
    # (tokens/filters.py, inventory/filters.py): the rows behind the links.
    after_task = live.filter(outlived_q("task"))
    after_identity = live.filter(outlived_q("identity"))
    # Disabling a credential revokes the tokens it obtained (tokens/credentials.py).
    after_credential = live.filter(outlived_q("credential")).select_related("identity")
    after_grant = _outliving_their_grant(live, now)
    holding = AIIdentity.objects.filter(status=Status.OFFBOARDED).filter(holds_access_q(now))
    problems = {}
    for token in (after_task | after_identity).select_related("identity", "task")[:FINDINGS_SHOWN]:
        why = "its task ended" if token.task.ended_at else f"the identity is {token.identity.get_status_display().lower()}"
        problems.setdefault(token.identity_id, Finding(token.identity_id, token.identity.name, f"live token {token.jti[:8]}… though {why}"))
    for token in after_credential[:FINDINGS_SHOWN]:
        problems.setdefault(token.identity_id, Finding(token.identity_id, token.identity.name, f"live token {token.jti[:8]}… though its credential was disabled"))
    for token in after_grant[:FINDINGS_SHOWN]:
        problems.setdefault(token.identity_id, Finding(token.identity_id, token.identity.name, f"live token {token.jti[:8]}… though no live grant covers {' '.join(token.scopes)}"))
    for identity in holding.only("id", "name").order_by("name")[:FINDINGS_SHOWN]:
        problems.setdefault(identity.pk, Finding(identity.pk, identity.name, "offboarded, still holds a grant or an enabled credential"))
    figures = {"live tokens": live.count(), "live after their task ended": after_task.count() if problems else 0,
               "live for suspended or offboarded identities": after_identity.count() if problems else 0,
               "live after their credential was disabled": after_credential.count() if problems else 0,
               "live after their grant ended": len(after_grant),
               "offboarded still holding access": holding.count() if problems else 0}
    count = sum(figures.values()) - figures["live tokens"]
    # Nothing ended yet: nothing shows ending revoking access.
    if not count and not (
        Task.objects.filter(ended_at__isnull=False).exists()
        or AIIdentity.objects.filter(status__in=[Status.SUSPENDED, Status.OFFBOARDED]).exists()
        or Grant.objects.filter(Q(revoked_at__isnull=False) | Q(ends_at__lte=now)).exists()
        or WorkloadCredential.objects.filter(enabled=False).exists()
    ):
        return _no_evidence(
            "no task, grant or credential has ended and no identity was suspended or offboarded, so nothing shows ending revoking access.", figures,
        )
    return Evidence(
        FAIL if count else PASS,
        "Ending a task, suspending or offboarding an identity revokes what it holds, in the same transaction; "
        f"verifiers offline refuse a revoked token within {nhi_setting('STATUS_LIST_TTL')} s (token status lists).",
        figures,
        sorted(problems.values(), key=lambda f: f.name)[:FINDINGS_SHOWN], count,
    ).linked(**{
        "live tokens": _list("tokens:issued-token-list", state="live"),
        "live after their task ended": _list("tokens:issued-token-list", state="live", outlived="task"),
        "live for suspended or offboarded identities": _list("tokens:issued-token-list", state="live", outlived="identity"),
        "live after their credential was disabled": _list("tokens:issued-token-list", state="live", outlived="credential"),
        "offboarded still holding access": _identities(status=Status.OFFBOARDED, holds_access="true"),
    })


def _tokens_issued_since(moment) -> bool:
    return IssuedToken.objects.filter(issued_at__gte=moment).exists()


def _consequential_scopes() -> dict[int, set[str]]:
    scopes = {}
    for service_id, name in ServiceScope.objects.filter(consequential=True).values_list("service_id", "name"):
        scopes.setdefault(service_id, set()).add(name)
    return scopes


def human_approval(now) -> Evidence:
    """Autonomous agents' consequential work had a person's approval (on the task or the task it came from)."""
    consequential = _consequential_scopes()
    recent = (
        Task.objects.filter(opened_at__gte=now - timedelta(days=RECENT_DAYS), identity__autonomy=Autonomy.AUTONOMOUS)
        .filter(Exists(IssuedToken.objects.filter(task=OuterRef("pk"))))
        .values_list("pk", "parent_id", "approved_by_id", "service_id", "scopes", "identity_id", "identity__name")
        .order_by("-opened_at")[:SCANNED_TASKS]
    )
    rows = list(recent)
    # An approval covers the task and the sub-tasks exchanged from it: walk up to the roots.
    known = {pk: (parent, approver) for pk, parent, approver, *_ in rows}
    tried = set()
    while missing := {parent for parent, _ in known.values() if parent and parent not in known} - tried:
        tried |= missing
        known.update({pk: (parent, approver) for pk, parent, approver in
                      Task.objects.filter(pk__in=missing).values_list("pk", "parent_id", "approved_by_id")})

    def approved(pk) -> bool:
        while pk in known:
            parent, approver = known[pk]
            if approver:
                return True
            pk = parent
        return False

    findings = []
    for pk, _parent, _approver, service_id, scopes, identity_id, name in rows:
        needs = set(scopes) & consequential.get(service_id, set())
        if needs and not approved(pk):
            findings.append(Finding(identity_id, name, f"task {str(pk)[:8]} got {' '.join(sorted(needs))} without approval"))
    # Not linked to the tasks list: both are counted over a scan capped at SCANNED_TASKS, and the
    # second in Python (consequential scopes), so no list's rows would always number the same.
    figures = {f"autonomous agents' tasks, last {RECENT_DAYS} days": len(rows), "without the approval they needed": len(findings)}
    if not rows and not _tokens_issued_since(now - timedelta(days=RECENT_DAYS)):
        return _no_evidence(f"no agent obtained a token in the last {RECENT_DAYS} days, so no work shows whether it was approved.", figures)
    return Evidence(
        FAIL if findings else PASS,
        "Autonomous agents get consequential scopes only for tasks a person approved.",
        figures, findings[:FINDINGS_SHOWN], len(findings),
    )


def separation_of_duties(now) -> Evidence:
    # Each as the approvals and access requests lists' filters read it (tokens/filters.py).
    approved_tasks = Task.objects.filter(approved_q())
    self_approved = Task.objects.filter(approved_by_owner_q()).select_related("identity", "approved_by")
    # An access request granted by the person who asked, or by an owner of the identity at
    # the service's stage: the second pair of eyes was not a second party.
    approved_requests = AccessRequest.objects.filter(state=AccessRequestState.APPROVED)
    self_granted = AccessRequest.objects.filter(granted_by_a_party_q()).select_related("identity", "decided_by")
    count = self_approved.count() + self_granted.count()
    figures = {"approved tasks": approved_tasks.count(), "approved by an owner": self_approved.count(),
               "granted access requests": approved_requests.count(), "granted by the requester or an owner": self_granted.count()}
    if not figures["approved tasks"] and not figures["granted access requests"]:
        return _no_evidence("no task was approved and no access request granted, so no decision shows who made it.", figures)
    findings = [Finding(t.identity_id, t.identity.name, f"task {str(t.pk)[:8]} approved by its owner {t.approved_by.get_username()}")
                for t in self_approved.order_by("-opened_at")[:FINDINGS_SHOWN]]
    findings += [Finding(r.identity_id, r.identity.name, f"access request #{r.pk} granted by {r.decided_by_label}, who asked for it or owns the identity")
                 for r in self_granted.order_by("-decided_at")[:FINDINGS_SHOWN]]
    return Evidence(
        FAIL if count else PASS,
        "A person never approves their own agent's task or their own access request: a reviewer, security admin or "
        "service owner who neither asked nor owns the identity decides.",
        figures, findings[:FINDINGS_SHOWN], count,
    ).linked(**{
        "approved tasks": _list("tokens:approval-list", state="all", approved="true"),
        "approved by an owner": _list("tokens:approval-list", state="all", approved_by_owner="true"),
        "granted access requests": _list("tokens:access-request-list", view="all", state=AccessRequestState.APPROVED),
        "granted by the requester or an owner": _list("tokens:access-request-list", view="all", granted_by_a_party="true"),
    })


def exposure_response(now) -> Evidence:
    # The last 90 days by calendar date, as the exposures list's "Contained since" filter reads
    # them, so each linked figure is the number of rows behind its link.
    since = timezone.localdate(now) - timedelta(days=90)
    in_period = Exposure.objects.filter(contained_at__date__gte=since).select_related("identity").order_by("contained_at", "pk")
    recent = list(in_period)
    dwell = [e.dwell.total_seconds() / 60 for e in recent]
    # What is late reads as the list's "Late" filter does (tokens/filters.py).
    untriaged = list(in_period.filter(untriaged_q(now)))
    untold = list(in_period.filter(untold_q(now)))
    findings = [Finding(e.identity_id, e.identity.name, f"reported {_at(e.contained_at)}, neither confirmed nor dismissed, identity still active") for e in untriaged]
    findings += [Finding(e.identity_id, e.identity.name, f"reported {_at(e.contained_at)}, owners not told (is notify_exposures running?)") for e in untold]
    # People's API tokens reported leaked belong to no identity: their record is the token's own.
    leaked = PersonalAPIToken.objects.filter(revoke_reason__startswith=EXPOSED, revoked_at__gte=now - timedelta(days=90))
    holders_untold = leaked.filter(holder_told_at__isnull=True, revoked_at__lt=now - timedelta(hours=1)).exclude(user__email="")
    findings += [Finding(None, f"API token {t.name} of {t.user.get_username()}", f"reported {_at(t.revoked_at)}, holder not told (is notify_exposures running?)")
                 for t in holders_untold.select_related("user")]
    figures = {"exposures, last 90 days": len(recent), "median dwell (min)": round(statistics.median(dwell)) if dwell else "—",
         "still live when reported": sum(e.was_live for e in recent), "tokens revoked": sum(e.tokens_revoked for e in recent),
         f"untriaged after {UNTRIAGED_HOURS} h": len(untriaged), "dismissed": sum(e.dismissed_at is not None for e in recent), "owners not told": len(untold),
         "personal API tokens reported leaked, last 90 days (each revoked)": leaked.count()}
    links = {
        "exposures, last 90 days": _list("tokens:exposure-list", since=since.isoformat()),
        "dismissed": _list("tokens:exposure-list", state="dismissed", since=since.isoformat()),
        "still live when reported": _list("tokens:exposure-list", since=since.isoformat(), was_live="true"),
        f"untriaged after {UNTRIAGED_HOURS} h": _list("tokens:exposure-list", since=since.isoformat(), late="triage"),
        "owners not told": _list("tokens:exposure-list", since=since.isoformat(), late="telling"),
    }
    if not recent and not figures["personal API tokens reported leaked, last 90 days (each revoked)"]:
        if not _in_service().exists():
            return _no_evidence("no identity is in service and no leak was reported, so nothing shows a response.", figures)
        # Identities in service and no leak reported in the period: nothing is left uncontained.
        return Evidence(PASS, "No leak was reported in the last 90 days; a leaked token or key is revoked the moment it is reported, "
                        "its owners are told and a security admin confirms or dismisses it.", figures)
    return Evidence(
        WARN if findings else PASS,
        "A leaked token or key is revoked the moment it is reported; owners are told and a security admin confirms or dismisses it.",
        figures, findings[:FINDINGS_SHOWN], len(findings),
    ).linked(**links)


def audit_integrity(now) -> Evidence:
    newest = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    before_tail = list(AuditEvent.objects.order_by("-id").values_list("id", flat=True)[AUDIT_TAIL:AUDIT_TAIL + 1])
    start_after = before_tail[0] if before_tail else 0
    checked, broken = audit_chain_verify(start_after=start_after)
    figures = {"events re-verified now": checked, "newest event": newest}
    if not broken and not checked:
        return _no_evidence("the audit log holds no event, so no chain shows it intact.", figures)
    if broken:
        where = f"event {broken.event_id}" if broken.event_id else "the chain head"
        return Evidence(FAIL, f"The audit chain is broken at {where}: {broken.problem}.", figures,
                        [Finding(None, where, broken.problem)], 1)
    return Evidence(
        PASS,
        f"Every change writes one hash-chained, HMAC-signed audit event; the newest {checked} verify now. "
        "A security admin checks the whole chain with the audit_verify command.",
        figures,
    )


def signing_keys(now) -> Evidence:
    active = SigningKey.objects.filter(state=KeyState.ACTIVE).first()
    published = SigningKey.objects.filter(state__in=[KeyState.ACTIVE, KeyState.RETIRING]).count()
    if active is None:
        return Evidence(WARN, "No signing key is active yet: the first token issued creates one.", {"published keys": published})
    age = (now - (active.activated_at or active.created_at)).days
    # The sweep rotates hourly once the key passes the setting: a day over means it is not rotating.
    limit = nhi_setting("SIGNING_KEY_MAX_AGE_DAYS") + 1
    figures = {"active key": active.kid, "algorithm": active.alg, "age (days)": age, "rotate within (days)": limit,
               "published keys": published}
    return Evidence(
        WARN if age > limit else PASS,
        f"Tokens are signed with {active.alg}; private keys are stored encrypted; the active key is {_age(age)}.",
        figures,
    )


def environment_isolation(now) -> Evidence:
    since = now - timedelta(days=RECENT_DAYS)
    # The tasks list's own test (crossing=true), so the figure and its link cannot drift apart.
    crossing = Task.objects.filter(crossing_q(), opened_at__gte=since).select_related("identity", "service")
    count = crossing.count()
    if not count and not _tokens_issued_since(now - timedelta(days=RECENT_DAYS)):
        return _no_evidence(f"no agent obtained a token in the last {RECENT_DAYS} days, so none shows where its tokens went.", {"crossing tasks": 0})
    findings = [Finding(t.identity_id, t.identity.name, f"production agent got a token for {t.service.name} ({t.service.get_environment_display().lower()})")
                for t in crossing.order_by("-opened_at")[:FINDINGS_SHOWN]]
    return Evidence(
        FAIL if count else PASS,
        f"No production agent got a token for a non-production service in the last {RECENT_DAYS} days.",
        {"crossing tasks": count},
        findings, count,
    ).linked(**{
        # From this very instant, as the tasks list's "Opened since" also takes one.
        "crossing tasks": _list("tokens:task-list", crossing="true", since=since.isoformat()),
    })


# The steps that take access away (or keep keys fresh): if these stop, the controls above
# still read well while identities no one answers for keep their tokens.
ENFORCING_STEPS = ("suspend_orphans", "suspend_unattested", "prune_tokens", "rotate_signing_keys")


def governance_sweep(now) -> Evidence:
    rows = sweep_status(now)
    stalled = [r for r in rows if r.state in STALLED]
    def detail(row) -> str:
        if row.state == "overdue":
            return f"last succeeded {_at(row.record.last_success_at)}, due {_at(row.next_due)}"
        return "has never run" if row.state == "never" else "failed on its last run"

    findings = [Finding(None, r.step.name, detail(r)) for r in stalled]
    enforcing = [r for r in stalled if r.step.name in ENFORCING_STEPS]
    ok = sum(r.state in ("ok", "running") for r in rows)
    last = max((r.record.finished_at for r in rows if r.record and r.record.finished_at), default=None)
    figures = {"steps": len(rows), "on schedule": ok, "stalled": len(stalled)}
    ran = f"{ok} of {len(rows)} background steps ran on schedule; " + (f"the last finished {_at(last)}." if last else "the governance sweep has never run.")
    if enforcing and not _in_service().exists():
        # A fresh portal: enforcement that stalls takes nothing away from no one yet. The
        # steps are still listed, to be scheduled before the first agent is registered.
        return Evidence(WARN, f"No evidence yet: no identity is in service for the sweep to govern. {ran}", figures, findings, len(stalled))
    return Evidence(FAIL if enforcing else WARN if stalled else PASS, ran, figures, findings, len(stalled))


def _age(days: int) -> str:
    return "less than a day old" if days < 1 else f"{days} day{pluralize(days)} old"


def _exceptions_and_news(exceptions, detail, news, news_detail) -> tuple[list[Finding], int, int]:
    """Findings for the identities breaking a rule (`detail(identity)` says how), then for
    recent events about identities (`news`, newest first, each told by `news_detail`): the
    first FINDINGS_SHOWN of each, and the totals of both."""
    findings, count, _ = _identity_findings(exceptions, detail)
    shown = list(news[:FINDINGS_SHOWN])
    findings += [Finding(n.identity_id, n.identity.name, news_detail(n)) for n in shown]
    return findings, count, news.count() if shown else 0


def networks_bound(now) -> Evidence:
    """Active production identities with allowed networks, and networks first seen lately."""
    production = AIIdentity.objects.filter(status=Status.ACTIVE, environment=Environment.PRODUCTION)
    findings, count, new_count = _exceptions_and_news(
        production.filter(allowed_networks=[]), lambda i: "active in production, tokens from any network",
        new_networks(now).select_related("identity").order_by("-first_seen_at"),
        lambda s: f"a token from a new network, {s.network}, {_at(s.first_seen_at)}",
    )
    total = production.count()
    figures = {"active in production": total, "bound to networks": total - count, f"new networks in {NEW_NETWORK_DAYS} days": new_count}
    if not new_count and not AIIdentity.objects.filter(status=Status.ACTIVE).exists():
        return _no_evidence("no identity is active, so none shows where it obtains tokens.", figures)
    if not count and not new_count:
        summary = f"Every active production identity ({total}) is bound to its networks, and none got a token from a new network in {NEW_NETWORK_DAYS} days."
    else:
        summary = (
            f"{total - count} of {total} active production identities are bound to their networks"
            + (f"; {new_count} new network{pluralize(new_count)} in {NEW_NETWORK_DAYS} days: did the agent move, or was its key copied?" if new_count else ".")
        )
    return Evidence(
        WARN if count or new_count else PASS, summary, figures, findings[:FINDINGS_SHOWN], count + new_count,
    ).linked(**{
        "active in production": _identities(status=Status.ACTIVE, environment=Environment.PRODUCTION),
        "bound to networks": _identities(status=Status.ACTIVE, environment=Environment.PRODUCTION, networks_bound="true"),
        f"new networks in {NEW_NETWORK_DAYS} days": _list("tokens:source-network-list", new="true"),
    })


def token_rates_limited(now) -> Evidence:
    """Active identities with a token rate limit, and those refused for it lately."""
    active = AIIdentity.objects.filter(status=Status.ACTIVE)
    default = nhi_setting("TOKEN_RATE_PER_MINUTE")
    findings, count, slowed_count = _exceptions_and_news(
        active.none() if default else active.filter(token_rate_per_minute__isnull=True),
        lambda i: "active, and no limit on the tokens it may obtain",
        # One pace per identity: the identities the inventory's filter finds (inventory/filters.py).
        TokenPace.objects.filter(identity__in=AIIdentity.objects.filter(rate_refused_q(now))).select_related("identity").order_by("-slowed_at"),
        lambda p: f"refused for its token rate limit, last {_at(p.slowed_at)}",
    )
    total = active.count()
    limit = per_minute(default) if default else "none"
    figures = {"active": total, "with a token rate limit": active.filter(rate_limited_q()).count(),
               f"refused for their limit in {SLOWED_DAYS} days": slowed_count}
    if not total and not slowed_count:
        return _no_evidence("no identity is active, so none shows a token rate limit.", figures)
    if not count and not slowed_count:
        summary = f"Every active identity ({total}) has a token rate limit (the portal's default: {limit}), and none reached it in {SLOWED_DAYS} days."
    else:
        summary = (
            f"{total - count} of {total} active identities have a token rate limit (the portal's default: {limit})"
            + (f"; {slowed_count} reached it in {SLOWED_DAYS} days: an agent in a loop, or a key in someone else's script?" if slowed_count else ".")
        )
    return Evidence(
        WARN if count or slowed_count else PASS, summary, figures, findings[:FINDINGS_SHOWN], count + slowed_count,
    ).linked(**{
        "active": _identities(status=Status.ACTIVE), "with a token rate limit": _identities(status=Status.ACTIVE, rate_limited="true"),
        f"refused for their limit in {SLOWED_DAYS} days": _identities(rate_refused="true"),
    })


def tool_servers_in_step(now) -> Evidence:
    """Services registered with their resource metadata: in step, drifted, or not checked."""
    registered = Service.objects.filter(is_active=True).exclude(metadata_url="")
    # What differs reads as the services list's "Resource metadata" filter does (tokens/filters.py).
    differing = list(registered.filter(metadata_differs_q(now)).order_by("name"))
    findings = []
    for service in differing:
        drift = service.metadata_drift or {}
        if service.metadata_checked_at is None or now - service.metadata_checked_at > METADATA_STALE:
            findings.append(Finding(None, service.name, "its metadata has not been checked in two days (is check_resource_metadata running?)"))
        elif "error" in drift:
            findings.append(Finding(None, service.name, f"its metadata could not be read: {drift['error']}"))
        else:
            said = []
            if drift.get("unregistered"):
                said.append(f"advertises scopes not registered: {', '.join(drift['unregistered'])}")
            if drift.get("withdrawn"):
                said.append(f"no longer advertises: {', '.join(drift['withdrawn'])}")
            if drift.get("audience"):
                said.append(f"names its resource {drift['audience']}")
            findings.append(Finding(None, service.name, "; ".join(said) or "its metadata differs from its registration"))
    published = registered.count()
    total = Service.objects.filter(is_active=True).count()
    figures = {"active services": total, "registered with their metadata": published, "differing or unchecked": len(findings)}
    links = {
        "active services": _list("tokens:service-list", active="true"),
        "registered with their metadata": _list("tokens:service-list", active="true", metadata="registered"),
        "differing or unchecked": _list("tokens:service-list", active="true", metadata="differs"),
    }
    if not total:
        return _no_evidence("no service is registered, so none shows what it offers.", figures)
    if not published:
        # Services without metadata leave nothing to compare: that is an absence of evidence, and
        # an auditor must not read it as tool servers shown to be in step.
        return _no_evidence(
            f"no active service publishes its tool and resource metadata ({total} registered without a metadata URL), "
            "so nothing compares what a tool server offers with its registration: set the resource metadata URL "
            "of each MCP or tool server on its service.", figures,
        ).linked(**{"active services": links["active services"]})
    if findings:
        summary = f"{len(findings)} of {published} services registered with their metadata differ from it, or were not checked: register or remove the scopes named."
    else:
        summary = f"All {published} services registered with their metadata advertise exactly the scopes registered here."
    return Evidence(
        WARN if findings else PASS, summary, figures, findings[:FINDINGS_SHOWN], len(findings),
    ).linked(**links)
