"""Bring an existing inventory in: register many identities from one CSV file, all or none.

A security team adopting the portal starts from a spreadsheet of the agents it knows about.
Each row is checked exactly as the register page checks one identity (the same form, so the
same rules: an owner registers what they answer for, only security admins set the attestation
interval), then all rows are registered in one transaction, each with its own audit event; one
bad row writes nothing and names its line and column. Kind, environment, autonomy and
sensitivity take a value or its label ("mcp_server" or "MCP server / tool"); owners are
usernames, exactly as they sign in. The columns of the portal's own CSV export that describe
state (id, status, dates) are accepted and ignored, and the apostrophe it puts before a cell
that looks like a formula is dropped, so a security admin imports an export as it is. The CSV
is read as spreadsheets write it (doubled quotes, any line ending, comma, semicolon or tab);
anything else is refused whole rather than read in some other way.
"""

import csv
import io
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from nhiportal.conf import nhi_setting
from nhiportal.csv_cells import FORMULA_PREFIXES
from nhiportal.people.roles import is_security_admin

from . import services
from .forms import RegisterForm
from .models import AIIdentity, Autonomy, Environment, Kind, Sensitivity

MAX_ROWS = 500
MAX_BYTES = 1_000_000
MAX_HEADER_CHARS = 4_000
DESCRIBING = (
    "name", "kind", "environment", "purpose", "trust_boundary", "autonomy", "sensitivity_ceiling",
    "offboarding_plan", "primary_owner", "backup_owners", "attestation_interval_days",
)
REQUIRED = ("name", "kind", "environment", "purpose")
# What the export adds about state: accepted, not imported.
IGNORED = ("id", "status", "has_active_owner", "risk_score", "risk_factors", "attestation_due", "last_attested_at", "created_at")
CHOICES = {"kind": Kind, "environment": Environment, "autonomy": Autonomy, "sensitivity_ceiling": Sensitivity}


@dataclass
class RowProblem:
    line: int
    column: str
    message: str


@dataclass
class ImportOutcome:
    registered: list = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)  # any problem: nothing registered


class ImportRefused(Exception):
    """The file as a whole cannot be read (too big, not CSV, missing or unknown columns)."""


def template_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(DESCRIBING[:-1])
    writer.writerow([
        "example-invoice-agent", "agent", "production", "Sorts incoming invoices for the AP team.", "finance-internal",
        "supervised", "confidential", "Disable its key, end its tasks, delete its mailbox rule.", "alice", "bob sam",
    ])
    return out.getvalue()


class _Dialect(csv.excel):
    """What spreadsheets write: quotes doubled inside quoted cells; only the delimiter varies."""

    strict = True  # a quote left open is an error, never a cell that swallows the lines after it


def _delimiter(first_line: str) -> str:
    # Counted, not sniffed: csv.Sniffer's regexes take quadratic time on a long line.
    return max((",", ";", "\t"), key=first_line.count)


def _uncell(value: str) -> str:
    """A cell as typed: the apostrophe the portal's export puts before a formula-like cell is dropped."""
    value = value.strip()
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES) else value


def _rows(content: bytes) -> list[tuple[int, dict]]:
    """(the line each identity starts on, its cells by column) for every non-empty row."""
    if len(content) > MAX_BYTES:
        raise ImportRefused(f"The file is over {MAX_BYTES // 1_000_000} MB; split it.")
    try:
        text = content.decode("utf-8-sig")  # a spreadsheet's UTF-8 export starts with a BOM
    except UnicodeDecodeError:
        raise ImportRefused("The file is not UTF-8 text; save it from the spreadsheet as CSV UTF-8.") from None
    first_line = text.splitlines()[0] if text else ""
    if len(first_line) > MAX_HEADER_CHARS:
        raise ImportRefused("The first line is too long to name columns: it should list them, e.g. name,kind,environment,purpose.")
    reader = csv.reader(io.StringIO(text, newline=""), dialect=_Dialect, delimiter=_delimiter(first_line))
    rows, line = [], 1
    try:
        header = [h.strip() for h in next(reader, [])]
        while header and header[-1] == "":
            header.pop()  # a spreadsheet's trailing empty columns
        _check_header(header)
        while True:
            line = reader.line_num + 1  # where this row starts, even if a quoted cell spans lines
            cells = next(reader, None)
            if cells is None:
                break
            extra = cells[len(header):]
            if any(c.strip() for c in extra):
                rows.append((line, {"_extra": extra}))
                continue
            row = {column: _uncell(value) for column, value in zip(header, cells) if column}
            if any(row.values()):
                if len(rows) == MAX_ROWS:
                    raise ImportRefused(f"The file has over {MAX_ROWS} identities; split it.")
                rows.append((line, row))
    except csv.Error as error:
        raise ImportRefused(f"Line {line} is not valid CSV ({error}); nothing was imported.") from None
    if not rows:
        raise ImportRefused("The file names its columns but holds no identity.")
    return rows


def _check_header(header: list[str]) -> None:
    if not header:
        raise ImportRefused("The file is empty: the first line names the columns.")
    named = [h for h in header if h]
    unknown = [h for h in named if h not in DESCRIBING + IGNORED]
    if unknown:
        raise ImportRefused(f"Unknown column{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. Columns are: {', '.join(DESCRIBING)}.")
    twice = sorted({h for h in named if named.count(h) > 1})
    if twice:
        raise ImportRefused(f"Column{'s' if len(twice) > 1 else ''} named twice: {', '.join(twice)}.")
    missing = [h for h in REQUIRED if h not in header]
    if missing:
        raise ImportRefused(f"Missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}.")


def _choice(column: str, raw: str, problems: list, line: int):
    choices = CHOICES[column]
    for value, label in choices.choices:
        if raw.lower() in (str(value).lower(), label.lower()):
            return value
    accepted = ", ".join(str(v) if column != "sensitivity_ceiling" else label.lower() for v, label in choices.choices)
    problems.append(RowProblem(line, column, f"“{raw}” is not one of: {accepted}."))
    return None


def _unknown(username: str, left: set) -> str:
    if username in left:
        return f"“{username}” has left (their account is inactive): name someone active."
    return f"No one signs in as “{username}”."


def _form_data(line: int, cells: dict, people: dict, problems: list, actor, left: set) -> dict:
    data = {}
    if not is_security_admin(actor):
        # The register page's rules, said out loud: its form would quietly ignore these cells.
        owner = cells.get("primary_owner", "")
        if owner and owner != actor.get_username():
            problems.append(RowProblem(line, "primary_owner", "Only security admins register identities for someone else: leave it empty or name yourself, and name others as backups."))
        interval = cells.get("attestation_interval_days", "")
        # The portal's own export fills the column: the default is no setting at all.
        if interval and interval != str(nhi_setting("ATTESTATION_INTERVAL_DAYS")):
            problems.append(RowProblem(line, "attestation_interval_days", "Only security admins set the attestation interval: leave it empty."))
    for column in ("name", "purpose", "trust_boundary", "offboarding_plan", "attestation_interval_days"):
        if cells.get(column):
            data[column] = cells[column]
    for column in CHOICES:
        if cells.get(column):
            data[column] = _choice(column, cells[column], problems, line)
        elif AIIdentity._meta.get_field(column).has_default():  # an empty cell means what the page preselects
            data[column] = AIIdentity._meta.get_field(column).default
    if is_security_admin(actor) and not cells.get("attestation_interval_days"):
        data["attestation_interval_days"] = nhi_setting("ATTESTATION_INTERVAL_DAYS")
    owner = cells.get("primary_owner", "")
    if owner:
        if owner not in people:
            problems.append(RowProblem(line, "primary_owner", _unknown(owner, left)))
        else:
            data["primary_owner"] = people[owner].pk
    backups = []
    for username in cells.get("backup_owners", "").replace(";", " ").replace(",", " ").split():
        if username not in people:
            problems.append(RowProblem(line, "backup_owners", _unknown(username, left)))
        else:
            backups.append(people[username].pk)
    data["backup_owners"] = backups
    return data


def identities_import(*, actor, content: bytes) -> ImportOutcome:
    """Register every identity in the CSV, or none; ImportRefused if the file cannot be read."""
    rows = _rows(content)
    # Exact usernames, as sign-in matches them: "Bob" is not "bob".
    people = {p.get_username(): p for p in get_user_model().objects.filter(is_active=True)}
    left = set(get_user_model().objects.filter(is_active=False).values_list(get_user_model().USERNAME_FIELD, flat=True))
    outcome = ImportOutcome()
    checked, seen = [], {}
    for line, cells in rows:
        if "_extra" in cells:
            outcome.problems.append(RowProblem(line, "", "The line has more cells than there are columns."))
            continue
        before = len(outcome.problems)
        data = _form_data(line, cells, people, outcome.problems, actor, left)
        if not data.get("primary_owner"):
            data["primary_owner"] = actor.pk  # as on the register page: yours unless you name someone
        # The form checks the rest of the line too, so one pass names every problem on it; a
        # cell already reported (an unknown kind, say) is not reported again as missing.
        form = RegisterForm(data, actor=actor)
        reported = {p.column for p in outcome.problems[before:]}
        if not form.is_valid():
            for column, errors in form.errors.items():
                if column not in reported:
                    outcome.problems += [RowProblem(line, column if column != "__all__" else "", e) for e in errors]
        if len(outcome.problems) > before:
            continue
        name = form.cleaned_data["name"].strip().lower()
        if name in seen:
            outcome.problems.append(RowProblem(line, "name", f"Line {seen[name]} has this name already."))
            continue
        seen[name] = line
        checked.append((line, form))
    if outcome.problems:
        return outcome
    try:
        with transaction.atomic():
            for line, form in checked:
                current = line
                outcome.registered.append(services.identity_register(
                    actor=actor, primary_owner=form.cleaned_data["primary_owner"],
                    backup_owners=form.cleaned_data["backup_owners"], **form.descriptive_data(),
                ))
    except ValidationError as error:  # refused by the service after the form passed: nothing stays written
        outcome.registered = []
        for column, messages in error.message_dict.items() if hasattr(error, "error_dict") else [("", error.messages)]:
            outcome.problems += [RowProblem(current, column if column != "__all__" else "", m) for m in messages]
    except IntegrityError:  # the name was registered by someone else meanwhile
        outcome.registered = []
        outcome.problems.append(RowProblem(current, "name", "Another identity took this name while the file was imported; import it again."))
    return outcome
