"""The framework catalogue holds published identifiers only, and every control maps onto it."""

import re

from nhiportal.compliance.catalogue import entries, frameworks
from nhiportal.compliance.controls import CONTROLS

FORMATS = {
    "owasp-nhi": r"NHI([1-9]|10):2025",
    "owasp-asi": r"ASI(0[1-9]|10)",
    "csa-maestro": r"L[1-7]",
    "csa-aicm": r"IAM-(0[1-9]|1[0-6]|19)",
    "nist-ai-rmf": r"(GOVERN|MAP|MEASURE|MANAGE) \d\.\d",
    "nist-csf": r"(GV|ID|PR|DE|RS|RC)\.[A-Z]{2}-\d\d",
    "nist-800-63": r"(FAL[1-3]|AAL[1-3])",
}


def test_each_framework_names_its_version_and_its_identifiers_have_the_published_form():
    assert {f.id for f in frameworks()} == set(FORMATS)
    for framework in frameworks():
        assert framework.version and framework.source and framework.verified in ("V", "V2")
        for entry in framework.entries:
            assert re.fullmatch(FORMATS[framework.id], entry.id), entry.id
            assert entry.title and entry.verified in ("V", "V2")


def test_identifiers_are_unique_and_withdrawn_or_unpublished_ones_are_absent():
    ids = [e.id for f in frameworks() for e in f.entries]
    assert len(ids) == len(set(ids))
    # ID.AM-06 is withdrawn, there is no ID.AM-09, IAM-17/18 are unverified, "A2" and "TRUST-2" were never published.
    for absent in ("ID.AM-06", "ID.AM-09", "IAM-17", "IAM-18", "A2", "TRUST-2"):
        assert absent not in entries()


def test_aliases_point_at_published_entries_and_say_they_are_unverified():
    aliases = {a.cited: a for f in frameworks() for a in f.aliases}
    assert aliases["OWASP Agentic AI Top 10 A2"].maps_to == ("ASI02",)
    assert set(aliases["CSA MAESTRO TRUST-2"].maps_to) >= {"L3", "L4", "L6", "L7"}
    for alias in aliases.values():
        assert alias.unverified and alias.note
        assert all(entry_id in entries() for entry_id in alias.maps_to)


def test_every_control_maps_onto_catalogue_entries_and_every_named_framework_is_served():
    assert len({c.id for c in CONTROLS}) == len(CONTROLS) == len({c.number for c in CONTROLS})
    for control in CONTROLS:
        assert control.maps and all(entry_id in entries() for entry_id in control.maps), control.id
    served = {entries()[e].framework_id for c in CONTROLS for e in c.maps}
    assert served == set(FORMATS)
