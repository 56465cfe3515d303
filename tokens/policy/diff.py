"""Comparing two versions' text: a unified diff, as rows a table can show with line numbers."""

import difflib
import re
from dataclasses import dataclass

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True)
class DiffRow:
    kind: str  # "hunk", "same", "added", "removed"
    old_line: int | None
    new_line: int | None
    text: str


def diff_rows(old_text: str, new_text: str, *, context: int = 3) -> list[DiffRow]:
    rows = []
    old_no = new_no = 0
    lines = difflib.unified_diff(old_text.splitlines(), new_text.splitlines(), lineterm="", n=context)
    for line in list(lines)[2:]:  # the first two are the ---/+++ file headers
        hunk = _HUNK.match(line)
        if hunk:
            old_no, new_no = int(hunk.group(1)), int(hunk.group(2))
            rows.append(DiffRow("hunk", None, None, line))
        elif line.startswith("+"):
            rows.append(DiffRow("added", None, new_no, line[1:]))
            new_no += 1
        elif line.startswith("-"):
            rows.append(DiffRow("removed", old_no, None, line[1:]))
            old_no += 1
        else:
            rows.append(DiffRow("same", old_no, new_no, line[1:]))
            old_no += 1
            new_no += 1
    return rows
