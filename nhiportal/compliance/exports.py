"""What compliance staff take away: the assessment as JSON (everything, with the exceptions)
and as CSV (one row per control and framework entry it serves, for a spreadsheet)."""

import csv
from dataclasses import asdict
from datetime import UTC

from nhiportal.conf import nhi_setting
from nhiportal.csv_cells import safe_cell

from .catalogue import framework, frameworks
from .controls import control_get

def file_stamp(moment) -> str:
    """When, in an export's file name: in UTC and saying so, as the files inside carry their zone."""
    return f"{moment.astimezone(UTC):%Y%m%d-%H%M}Z"


CSV_HEADER = [
    "framework", "framework_version", "entry_id", "entry_title", "control", "control_title",
    "status", "evidence", "exceptions", "assessed_at",
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
                a.result.status, a.result.summary, a.result.findings_total, now.isoformat(),
            )])


HISTORY_HEADER = ["taken_at", "control", "control_title", "status", "exceptions", "evidence"]


def write_history_csv(snapshots, out) -> None:
    """One row per snapshot and control: the period's record of each control operating."""
    writer = csv.writer(out)
    writer.writerow(HISTORY_HEADER)
    for snapshot in snapshots:
        for control_id, result in snapshot.results.items():
            control = control_get(control_id)
            writer.writerow([safe_cell(cell) for cell in (
                snapshot.taken_at.isoformat(), control.number if control else control_id, control.title if control else "",
                result["status"], result["exceptions"], result["evidence"],
            )])
