"""What compliance staff take away: the assessment as JSON (everything, with the exceptions)
and as CSV (one row per control and framework entry it serves, for a spreadsheet).

Every file says which portal made it and when: the JSON at its top, each CSV in two columns
at the end of every row (a CSV has nowhere else to say it that a spreadsheet keeps), so a
file taken out of an evidence pack or forwarded alone still names its source and moment.
"""

import csv
from dataclasses import asdict
from datetime import UTC

from nhiportal.conf import nhi_setting
from nhiportal.csv_cells import safe_cell

from .catalogue import framework, frameworks
from .controls import control_get

PROVENANCE_HEADER = ["exported_at", "portal"]


def provenance(now) -> list[str]:
    """The cells that end every row of a compliance CSV: when it was made, and by which portal."""
    return [now.isoformat(), nhi_setting("ISSUER")]


def file_stamp(moment) -> str:
    """When, in an export's file name: in UTC and saying so, as the files inside carry their zone."""
    return f"{moment.astimezone(UTC):%Y%m%d-%H%M}Z"


CSV_HEADER = [
    "framework", "framework_version", "entry_id", "entry_title", "control", "control_title",
    "status", "evidence", "exceptions", "assessed_at", "portal",
]


def as_json(assessments, now) -> dict:
    return {
        "portal": nhi_setting("ISSUER"),
        "assessed_at": now.isoformat(),
        "controls": [
            {
                "id": a.control.id,
                "number": a.control.number,
                "title": a.control.title,
                "guards": a.control.guards,
                "status": a.result.status,
                "evidence": a.result.summary,
                "figures": a.result.figures,
                "exceptions": [{**asdict(f), "identity_id": str(f.identity_id) if f.identity_id else None} for f in a.result.findings],
                "exceptions_total": a.result.findings_total,
                "maps": [
                    {"framework": framework(e.framework_id).name, "version": framework(e.framework_id).version, "id": e.id, "title": e.title}
                    for e in a.entries
                ],
            }
            for a in assessments
        ],
        "frameworks": [
            {
                "id": f.id, "name": f.name, "version": f.version, "source": f.source, "verified": f.verified,
                "entries": [{"id": e.id, "title": e.title, "verified": e.verified} for e in f.entries],
                "aliases": [{"cited": a.cited, "maps_to": list(a.maps_to), "unverified": a.unverified, "note": a.note} for a in f.aliases],
            }
            for f in frameworks()
        ],
    }


def write_csv(assessments, now, out) -> None:
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for a in assessments:
        for entry in a.entries:
            source = framework(entry.framework_id)
            # Defused like every CSV the portal writes: evidence text that starts with = or -
            # (a figure, a name quoted some day) must not open as a formula in the auditor's sheet.
            writer.writerow([safe_cell(cell) for cell in (
                source.name, source.version, entry.id, entry.title, a.control.number, a.control.title,
                a.result.status, a.result.summary, a.result.findings_total, now.isoformat(), nhi_setting("ISSUER"),
            )])


HISTORY_HEADER = ["taken_at", "control", "control_title", "status", "exceptions", "evidence", *PROVENANCE_HEADER]


def write_history_csv(snapshots, out, now) -> None:
    """One row per snapshot and control: the period's record of each control operating."""
    writer = csv.writer(out)
    writer.writerow(HISTORY_HEADER)
    made = provenance(now)
    for snapshot in snapshots:
        for control_id, result in snapshot.results.items():
            control = control_get(control_id)
            writer.writerow([safe_cell(cell) for cell in (
                snapshot.taken_at.isoformat(), control.number if control else control_id, control.title if control else "",
                result["status"], result["exceptions"], result["evidence"], *made,
            )])


# The records behind NHIP-01, 03, 10, 11 and 12, one CSV each, for the evidence pack and on their
# own: (column, cell) pairs, written by nhiportal.csv_cells.csv_download, which defuses formulas.
def _iso(value) -> str:
    return value.isoformat() if value else ""


def _who(user) -> str:
    return user.get_username() if user else ""


EXPOSURE_COLUMNS = [
    ("id", lambda e: e.pk),
    ("identity", lambda e: e.identity.name),
    ("identity_id", lambda e: e.identity_id),
    ("kind", lambda e: e.kind),
    ("token_jti", lambda e: e.token_jti),
    ("credential_id", lambda e: e.credential_id or ""),
    ("where_found", lambda e: e.where_found),
    ("seen_at", lambda e: _iso(e.seen_at)),
    ("reported_by", lambda e: _who(e.reported_by)),
    ("contained_at", lambda e: _iso(e.contained_at)),
    ("dwell_minutes", lambda e: round(e.dwell.total_seconds() / 60)),
    ("was_live", lambda e: "yes" if e.was_live else "no"),
    ("tokens_revoked", lambda e: e.tokens_revoked),
    ("owners_told_at", lambda e: _iso(e.told_at)),
    ("owners_told", lambda e: " ".join(e.owners_told or ())),
    ("status", lambda e: e.status),
    ("confirmed_at", lambda e: _iso(e.confirmed_at)),
    ("confirmed_by", lambda e: _who(e.confirmed_by)),
    ("confirm_reason", lambda e: e.confirm_reason),
    ("dismissed_at", lambda e: _iso(e.dismissed_at)),
    ("dismissed_by", lambda e: _who(e.dismissed_by)),
    ("dismiss_reason", lambda e: e.dismiss_reason),
]

TASK_APPROVAL_COLUMNS = [
    ("task_id", lambda t: t.pk),
    ("identity", lambda t: t.identity.name),
    ("identity_id", lambda t: t.identity_id),
    ("service", lambda t: t.service.name),
    ("scopes", lambda t: " ".join(t.scopes)),
    ("intent", lambda t: t.intent),
    ("opened_at", lambda t: _iso(t.opened_at)),
    ("state", lambda t: t.approval_state),
    ("approved_by", lambda t: _who(t.approved_by)),
    ("approved_at", lambda t: _iso(t.approved_at)),
    ("approval_expires_at", lambda t: _iso(t.approval_expires_at)),
    ("approval_reason", lambda t: t.approval_reason),
    ("approver_was_owner", lambda t: ("yes" if t.approver_was_owner else "no") if t.approved_by_id else ""),
    ("ended_at", lambda t: _iso(t.ended_at)),
    ("ended_by", lambda t: t.ended_by_label),
    ("end_reason", lambda t: t.end_reason),
]

OWNERSHIP_CLAIM_COLUMNS = [
    ("id", lambda c: c.pk),
    ("identity", lambda c: c.identity.name),
    ("identity_id", lambda c: c.identity_id),
    ("claimant", lambda c: c.claimant.get_username()),
    ("claimed_at", lambda c: _iso(c.claimed_at)),
    ("reason", lambda c: c.reason),
    ("state", lambda c: c.state),
    ("decided_by", lambda c: c.decided_by_label),
    ("decided_at", lambda c: _iso(c.decided_at)),
    ("decision_reason", lambda c: c.decision_reason),
]

ATTESTATION_REVIEW_COLUMNS = [
    ("id", lambda a: a.pk),
    ("identity", lambda a: a.identity.name),
    ("identity_id", lambda a: a.identity_id),
    ("attested_by", lambda a: a.person.get_username()),
    ("attested_at", lambda a: _iso(a.attested_at)),
    ("note", lambda a: a.note),
    ("review", lambda a: a.review),
    ("reviewed_by", lambda a: a.reviewed_by_label),
    ("reviewed_at", lambda a: _iso(a.reviewed_at)),
    ("review_reason", lambda a: a.review_reason),
    ("owners_told_of_rejection_at", lambda a: _iso(a.owners_told_at)),
]
