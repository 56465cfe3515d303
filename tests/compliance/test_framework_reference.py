"""The catalogue says only what the project's framework reference (shared/reference/frameworks.md)
says: every identifier a control maps onto, or an alias stands for, is listed there, with its
title and the framework's version, and none marked unverified there is shipped.

The reference lives beside the repository (as it does for developers and CI), or where
NHI_FRAMEWORKS_REFERENCE points.
"""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings

from nhiportal.compliance.catalogue import entries, frameworks
from nhiportal.compliance.controls import CONTROLS

REFERENCE = Path(os.environ.get("NHI_FRAMEWORKS_REFERENCE") or settings.BASE_DIR.parent / "shared" / "reference" / "frameworks.md")

# Catalogue framework -> (the start of its section heading in the reference, its identifiers' form).
SECTIONS = {
    "owasp-nhi": ("OWASP Top 10 Non-Human Identities Risks", r"NHI(?:10|[1-9]):2025"),
    "owasp-asi": ("OWASP Top 10 for Agentic Applications", r"ASI(?:0[1-9]|10)"),
    "csa-maestro": ("CSA MAESTRO", r"L[1-7]"),
    "csa-aicm": ("CSA AI Controls Matrix", r"IAM-\d\d"),
    "nist-ai-rmf": ("NIST AI RMF", r"(?:GOVERN|MAP|MEASURE|MANAGE) \d\.\d"),
    "nist-csf": ("NIST Cybersecurity Framework", r"(?:GV|ID|PR|DE|RS|RC)\.[A-Z]{2}-\d\d"),
    "nist-800-63": ("NIST SP 800-63-4", r"(?:FAL|AAL)[1-3]"),
}
# A paragraph's label says how its identifiers were verified ("V:", "V2 (titles as in CCM v4):"),
# or that they were not ("UNVERIFIED:", whose identifiers must not be shipped); a note that
# runs on in the same paragraph cites identifiers without listing them.
LABEL = re.compile(r"(?:^|(?<=\s))(V2?|UNVERIFIED|Seven layers|Note)(?: \([^)]*\))?:\s")


def _sections(text: str) -> dict[str, str]:
    found = {}
    for block in re.split(r"^## ", text, flags=re.M)[1:]:
        heading, _, body = block.partition("\n")
        found[heading.strip()] = body
    return found


def _units(body: str) -> list[tuple[str, str | None]]:
    """The pieces of a section that list identifiers, each with the verification its label
    gives (None: the heading's): its bullets (with their wrapped lines) if it has any, else
    its labelled paragraphs; notes, scope notes and asides in parentheses are left out."""
    bullets, current = [], None
    for line in body.splitlines():
        if line.startswith("- "):
            current = [line[2:]]
            bullets.append(current)
        elif line.startswith("  ") and current is not None:
            current.append(line.strip())
        else:
            current = None
    if bullets:
        return [(" ".join(b), None) for b in bullets]
    units = []
    for paragraph in re.split(r"\n\s*\n", body):
        text = " ".join(line.strip() for line in paragraph.splitlines() if not line.startswith("("))
        if not text or text.startswith(("Note:", "Source:", "Scope note:", "Volumes:")):
            continue
        parts = LABEL.split(text)
        if len(parts) == 1:
            units.append((text, None))
        for label, piece in zip(parts[1::2], parts[2::2]):
            if label != "Note":
                units.append((piece, {"Seven layers": None}.get(label, label)))
    return units


def _clean(title: str) -> str:
    return title.strip().rstrip(";,.").strip()


def reference() -> dict[str, dict]:
    """Catalogue framework id -> {"heading", "entries": {id: (title, verified)}, "unverified": ids}."""
    if not REFERENCE.is_file():
        pytest.skip(f"the framework reference is not at {REFERENCE} (set NHI_FRAMEWORKS_REFERENCE)")
    sections = _sections(REFERENCE.read_text())
    found = {}
    for framework_id, (start, form) in SECTIONS.items():
        [heading] = [h for h in sections if h.startswith(start)]
        mark = re.search(r"\((V2?)\b[^)]*\)\s*$", heading)
        listed, unverified = {}, set()
        for text, label in _units(sections[heading]):
            # An identifier opens its item (or follows ; / , of a list): "FAL3 FAL2 plus ..." names FAL2 in a title.
            hits = [hit for hit in re.finditer(rf"\b{form}\b", text) if text[:hit.start()].rstrip()[-1:] in ("", ";", "/", ",")]
            if label == "UNVERIFIED":
                unverified |= {hit.group(0) for hit in hits}
                continue
            group = []  # "RS.MI-01 / RS.MI-02 incidents contained / eradicated": one title for both
            for hit, following in zip(hits, hits[1:] + [None]):
                title = _clean(text[hit.end():following.start() if following else len(text)])
                group.append(hit.group(0))
                if title.strip("/ ") == "":
                    continue
                alternatives = [a.strip() for a in title.split(" / ")] if len(group) > 1 else [title]
                first = alternatives[0].split()
                for n, identifier in enumerate(group):
                    words = alternatives[min(n, len(alternatives) - 1)].split()
                    # Each alternative replaces as many closing words of the first.
                    listed[identifier] = (" ".join(first[:len(first) - len(words)] + words) if n else " ".join(first),
                                          label or (mark.group(1) if mark else None))
                group = []
        found[framework_id] = {"heading": heading, "entries": listed, "unverified": unverified}
    return found


def _same_title(ours: str, theirs: str) -> bool:
    """Titles as the reference writes them; NIST's paraphrases there start in lower case, and an
    explanation the reference adds in parentheses at the end is not part of the title."""
    def norm(text):
        return " ".join(text.split()).casefold()

    return norm(ours) in (norm(theirs), norm(re.sub(r"\s*\([^)]*\)$", "", theirs)))


def test_the_reference_is_read_as_it_is_written():
    """The parser itself: each framework's entries, the slashed pair and the unverified ones."""
    ref = reference()
    assert len(ref["owasp-nhi"]["entries"]) == 10 and len(ref["owasp-asi"]["entries"]) == 10
    assert ref["csa-maestro"]["entries"]["L7"][0] == "Agent Ecosystem"
    assert ref["nist-csf"]["entries"]["RS.MI-02"][0] == "incidents eradicated"
    assert ref["nist-800-63"]["entries"]["AAL3"][0] == "hardware-based phishing-resistant authenticator"
    assert ref["nist-ai-rmf"]["entries"]["MANAGE 2.4"][0].endswith("disengage or deactivate AI systems")
    assert ref["csa-aicm"]["entries"]["IAM-02"][1] == "V2" and ref["csa-aicm"]["entries"]["IAM-19"][1] == "V"
    assert ref["csa-aicm"]["unverified"] == {"IAM-17", "IAM-18"}
    assert "ID.AM-06" not in ref["nist-csf"]["entries"] and "ID.AM-09" not in ref["nist-csf"]["entries"]


def test_every_identifier_the_catalogue_uses_is_listed_in_the_reference_under_its_framework():
    ref = reference()
    used = {e for control in CONTROLS for e in control.maps}
    used |= {e for f in frameworks() for alias in f.aliases for e in alias.maps_to}
    used |= set(entries())
    listed = {identifier: framework_id for framework_id, r in ref.items() for identifier in r["entries"]}
    assert used - set(listed) == set(), "identifiers the reference does not list"
    for identifier in used:
        assert entries()[identifier].framework_id == listed[identifier], identifier
    shipped_unverified = {i for r in ref.values() for i in r["unverified"]} & used
    assert shipped_unverified == set()


def test_each_entry_has_the_reference_title_and_verification_and_each_framework_its_version():
    ref = reference()
    for framework in frameworks():
        section = ref[framework.id]
        assert framework.version in section["heading"], (framework.id, framework.version, section["heading"])
        for entry in framework.entries:
            title, verified = section["entries"][entry.id]
            assert _same_title(entry.title, title), (entry.id, entry.title, title)
            assert entry.verified == verified, (entry.id, entry.verified, verified)


def test_each_alias_is_a_name_the_reference_cites():
    text = REFERENCE.read_text() if REFERENCE.is_file() else pytest.skip(f"no framework reference at {REFERENCE}")
    for framework in frameworks():
        for alias in framework.aliases:
            assert f'"{alias.cited}"' in " ".join(text.split()), alias.cited
