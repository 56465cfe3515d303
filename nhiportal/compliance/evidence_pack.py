"""The evidence pack: one zip an auditor takes away, instead of a dozen downloads.

It holds the portal's own exports, exactly as their pages serve them to the person asking
(the same gates and the same files): the controls (JSON, CSV, OSCAL) and their daily
history, the inventory, grants and access requests, the policy decisions, the audit log,
the leak reports, task approvals, ownership claims and attestation reviews since a date,
and the answers of each attestation campaign and access review launched since then.
README.txt says what each file is, when and for whom the pack was made, and the SHA-256 of
every file, so a file taken out of the pack can be checked against it. Making a pack writes
one `compliance.evidence_pack` audit event with the README's own digest.
"""

import copy
import hashlib
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db import transaction
from django.http import QueryDict
from django.urls import resolve, reverse
from django.utils import timezone

from inventory.models import Campaign
from nhiportal.audit.services import audit_record
from nhiportal.conf import nhi_setting
from tokens.models import AccessReview

from .exports import file_stamp

SPILL_BYTES = 16 << 20  # kept in memory up to this, then on disk


@dataclass(frozen=True)
class Part:
    name: str  # its path in the zip
    url_name: str
    describes: str
    args: tuple = ()
    query: dict | None = None


class PackFailed(Exception):
    """An export the pack takes in did not answer: nothing is handed out half made."""


def parts(since: date) -> list[Part]:
    instant = timezone.make_aware(datetime.combine(since, time.min)).isoformat()
    fixed = [
        Part("compliance.json", "compliance:export-json", "every control: status, live evidence, exceptions and framework entries"),
        Part("compliance.csv", "compliance:export-csv", "the same, one row per control and framework entry"),
        Part("compliance.oscal.json", "compliance:export-oscal", "the same as OSCAL 1.2.1 Assessment Results, for a GRC tool"),
        Part("compliance-history.csv", "compliance:history-csv", "each control's status, day by day"),
        Part("identities.csv", "inventory:identity-export", "the inventory: every identity, its owners, purpose and state"),
        Part("grants.csv", "tokens:grant-export", "every grant: who holds what on which service, granted by whom, revoked why"),
        Part("credentials.csv", "tokens:credential-export", "every workload credential: how each identity proves itself, since when, its last token"),
        Part("access-requests.csv", "tokens:access-request-export", "who asked for access, who vouched, who decided and why"),
        Part("policy-decisions.csv", "policy:decision-export", f"every policy decision since {since:%Y-%m-%d}", query={"since": since.isoformat()}),
        Part("audit-events.jsonl", "audit:event-export", f"the audit log since {since:%Y-%m-%d}, every field, oldest first", query={"since": instant}),
        # The records NHIP-12, 10 and 11, 01 and 03 rest on, since the same day.
        Part("exposures.csv", "compliance:exposure-export",
             f"leak reports since {since:%Y-%m-%d}: what leaked, where it was found, when it was contained, who confirmed or dismissed it",
             query={"since": since.isoformat()}),
        Part("task-approvals.csv", "compliance:task-approval-export",
             f"agents' tasks that waited for a person since {since:%Y-%m-%d}: approved or refused by whom, why, and whether they owned the agent",
             query={"since": since.isoformat()}),
        Part("ownership-claims.csv", "compliance:ownership-claim-export",
             f"claims on orphaned identities since {since:%Y-%m-%d}: who claimed, why, who decided and why",
             query={"since": since.isoformat()}),
        Part("attestation-reviews.csv", "compliance:attestation-review-export",
             f"owners' attestations since {since:%Y-%m-%d} and a second person's review of each: confirmed or rejected, by whom, why",
             query={"since": since.isoformat()}),
    ]
    campaigns = [
        Part(f"campaigns/{c.pk}.csv", "inventory:campaign-export", f"attestation campaign “{c.name}”: each identity's answer and its review", args=(c.pk,))
        for c in Campaign.objects.filter(launched_at__date__gte=since).order_by("launched_at", "pk")
    ]
    reviews = [
        Part(f"access-reviews/{r.pk}.csv", "tokens:access-review-export", f"access review “{r.name}”: each grant kept or revoked, by whom, why", args=(r.pk,))
        for r in AccessReview.objects.filter(launched_at__date__gte=since).order_by("launched_at", "pk")
    ]
    return fixed + campaigns + reviews


def _content(request, part: Part):
    """The export's bytes as its own view serves them to this person."""
    path = reverse(part.url_name, args=part.args)
    match = resolve(path)
    asked = copy.copy(request)
    asked.GET = QueryDict(mutable=True)
    asked.GET.update(part.query or {})
    asked.path = asked.path_info = path
    response = match.func(asked, *match.args, **match.kwargs)
    if response.status_code != 200:
        raise PackFailed(f"{part.name} could not be made (HTTP {response.status_code}).")
    return response.streaming_content if response.streaming else [response.content]


def evidence_pack(request, *, since: date):
    """The pack as a temporary file, positioned at its start, and its file name."""
    now = timezone.now()
    pack = tempfile.SpooledTemporaryFile(max_size=SPILL_BYTES)
    manifest = []
    with zipfile.ZipFile(pack, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for part in parts(since):
            digest, size = hashlib.sha256(), 0
            with zipped.open(part.name, "w", force_zip64=True) as entry:
                for chunk in _content(request, part):
                    entry.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
            manifest.append(f"{digest.hexdigest()}  {part.name}  ({size} bytes): {part.describes}")
        readme = "\n".join([
            "NHI Portal evidence pack",
            "",
            f"Portal: {nhi_setting('ISSUER')}",
            f"Made: {now.isoformat()} by {request.user.get_username()} (what this person may see)",
            f"Period of the decisions, audit events, leak reports, task approvals, ownership claims, attestations, campaigns "
            f"and access reviews: since {since:%Y-%m-%d}",
            "",
            "SHA-256, file, size and what it holds (check a file with: sha256sum FILE):",
            "",
            *manifest,
            "",
        ]).encode()
        zipped.writestr("README.txt", readme)
    with transaction.atomic():  # the event is the one write: it commits alone
        audit_record(
            actor=request.user, action="compliance.evidence_pack", object_type="nhiportal.compliance", object_id="evidence-pack",
            object_repr=f"evidence pack since {since:%Y-%m-%d}",
            after={"since": since.isoformat(), "files": len(manifest), "readme_sha256": hashlib.sha256(readme).hexdigest()},
        )
    pack.seek(0)
    return pack, f"nhi-evidence-since-{since:%Y%m%d}-{file_stamp(now)}.zip"
