"""The framework catalogue (catalogue.json): the entries the portal's controls map onto.

A data file rather than code, so that compliance staff can read what is claimed and a review
of a new framework version is a diff of identifiers and titles. Loaded once per process.
"""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CATALOGUE = Path(__file__).with_name("catalogue.json")


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    framework_id: str
    verified: str


@dataclass(frozen=True)
class Alias:
    """A name some guidance cites that no framework publishes, and the entries it stands for."""

    cited: str
    maps_to: tuple[str, ...]
    note: str
    unverified: bool


@dataclass(frozen=True)
class Framework:
    id: str
    name: str
    short: str
    version: str
    source: str
    verified: str
    entries: tuple[Entry, ...]
    aliases: tuple[Alias, ...]


@cache
def frameworks() -> tuple[Framework, ...]:
    data = json.loads(CATALOGUE.read_text())
    return tuple(
        Framework(
            id=f["id"], name=f["name"], short=f["short"], version=f["version"], source=f["source"], verified=f["verified"],
            entries=tuple(Entry(e["id"], e["title"], f["id"], e.get("verified", f["verified"])) for e in f["entries"]),
            aliases=tuple(Alias(a["cited"], tuple(a["maps_to"]), a["note"], a.get("unverified", False)) for a in f.get("aliases", [])),
        )
        for f in data["frameworks"]
    )


@cache
def entries() -> dict[str, Entry]:
    """Every entry by its identifier (identifiers are unique across the catalogue)."""
    return {entry.id: entry for framework in frameworks() for entry in framework.entries}


def framework(framework_id: str) -> Framework | None:
    return next((f for f in frameworks() if f.id == framework_id), None)
