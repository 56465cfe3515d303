"""The portal's own controls: what each guards, its live evidence, and the framework entries it
serves (identifiers from catalogue.json, checked by the tests).

A mapping says the control helps meet the entry, not that the entry is met: most entries ask
for more than one tool can do.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from . import evidence
from .catalogue import entries


@dataclass(frozen=True)
class Control:
    id: str
    number: str
    title: str
    guards: str
    evidence: Callable[..., evidence.Evidence]
    maps: tuple[str, ...]


CONTROLS = (
    Control("owned", "NHIP-01", "Every identity has an active owner",
            "An identity nobody answers for is never reviewed and never offboarded.",
            evidence.owned, ("NHI1:2025", "GOVERN 2.1", "GV.RR-02", "IAM-03", "L6")),
    Control("documented", "NHIP-02", "Every identity is documented",
            "Purpose, trust boundary, data sensitivity ceiling and an offboarding path, recorded before activation.",
            evidence.documented, ("GOVERN 1.6", "GOVERN 1.7", "ID.AM-02", "ID.AM-08", "IAM-03", "IAM-01")),
    Control("attested", "NHIP-03", "Owners attest their identities on time",
            "Each owner confirms at each interval that the identity is still needed and its scope still right.",
            evidence.attested, ("GOVERN 1.5", "IAM-08", "PR.AA-05", "NHI1:2025")),
    Control("workload-identity", "NHIP-04", "Workload identity, no static secrets",
            "Agents authenticate with private_key_jwt, a SPIFFE JWT-SVID or a federated workload token; there is no shared secret to leak or forget.",
            evidence.workload_identity, ("NHI4:2025", "NHI7:2025", "PR.AA-01", "PR.AA-03", "IAM-14", "ASI03")),
    Control("no-reuse", "NHIP-05", "One credential, one identity",
            "A key, SPIFFE ID or federated subject registered to several identities makes their tokens indistinguishable.",
            evidence.no_reuse, ("NHI9:2025", "IAM-13", "PR.AA-02")),
    Control("short-lived-tokens", "NHIP-06", "Short-lived, audience-bound, per-task tokens",
            "Every access token belongs to one task and one audience and expires within the portal's ceiling.",
            evidence.short_lived_tokens, ("NHI7:2025", "PR.AA-04", "FAL1", "FAL2", "ASI03")),
    Control("policy-at-issuance", "NHIP-07", "Policy decides every token at request time",
            "Cedar policy weighs the task's intent, data sensitivity and destination before any token is issued.",
            evidence.policy_at_issuance, ("PR.AA-05", "IAM-16", "IAM-19", "ASI02", "ASI03", "L6", "MEASURE 2.4")),
    Control("least-privilege", "NHIP-08", "Least privilege: grants name scopes and end",
            "Access is granted per service and scope, for a period, with a justification.",
            evidence.least_privilege, ("NHI5:2025", "PR.AA-05", "IAM-05", "IAM-06", "IAM-19", "ASI03")),
    Control("ending-access", "NHIP-09", "Ending work ends access",
            "Ending a task, suspending or offboarding an identity revokes its tokens, grants and credentials at once; "
            "resource servers verifying tokens offline see the revocation through the token status lists.",
            # Not GV.SC-10 (supply chain: what happens when a supplier partnership ends): ending
            # an agent's task or identity says nothing about a supplier's access or data.
            evidence.ending_access, ("NHI1:2025", "MANAGE 2.4", "GOVERN 1.7", "ID.AM-08", "IAM-07")),
    Control("human-approval", "NHIP-10", "A person approves autonomous agents' consequential work",
            "Consequential scopes for autonomous agents need a reviewer's approval, for that task alone.",
            evidence.human_approval, ("ASI09", "ASI10", "MAP 3.5", "GOVERN 3.2", "IAM-11")),
    Control("separation-of-duties", "NHIP-11", "Nobody approves their own agent",
            "The owner sponsors the agent; a second person decides its task approvals and grants its access requests.",
            evidence.separation_of_duties, ("PR.AA-05", "IAM-04", "IAM-09", "GOVERN 3.2")),
    Control("exposure-response", "NHIP-12", "Leaked credentials are contained and followed up",
            "A reported token or key is revoked at once; its owners are told and a security admin confirms.",
            evidence.exposure_response, ("NHI2:2025", "RS.MI-01", "RS.MI-02", "MANAGE 4.1", "MANAGE 4.3")),
    Control("audit-integrity", "NHIP-13", "The audit trail is complete and tamper-evident",
            "Every change writes one audit event in its transaction, chained by hash and signed by HMAC.",
            evidence.audit_integrity, ("PR.PS-04", "DE.CM-03", "IAM-12", "L5")),
    Control("signing-keys", "NHIP-14", "The portal's signing keys rotate",
            "Token signing keys are encrypted at rest, published with their successor, and rotated.",
            evidence.signing_keys, ("PR.AA-04", "NHI7:2025", "FAL1")),
    Control("environment-isolation", "NHIP-15", "Production agents stay in production",
            "Policy keeps production agents away from non-production services, and the reverse is configurable.",
            evidence.environment_isolation, ("NHI8:2025", "L4", "IAM-19")),
    Control("governance-sweep", "NHIP-16", "Governance runs on schedule",
            "Lapsed attestations and missing owners suspend identities, expired rows go and keys rotate only while the sweep runs.",
            evidence.governance_sweep, ("GOVERN 1.5", "MANAGE 2.4", "NHI1:2025")),
    Control("unused-access", "NHIP-17", "Access that goes unused is found",
            "Scopes of a live grant that no token carried for a whole window (30 days by default) are listed for revoking: a right nobody uses serves only whoever takes the agent.",
            evidence.unused_access, ("NHI5:2025", "PR.AA-05", "IAM-05", "IAM-08", "IAM-19")),
    Control("key-rotation", "NHIP-18", "Agents' keys rotate",
            "An agent's public key older than a set age (180 days by default) is flagged and its owners told, until a new one replaces it.",
            evidence.key_rotation, ("NHI7:2025", "PR.AA-01")),
    Control("identities-in-use", "NHIP-19", "Identities nothing uses are found",
            "An active identity that obtained no token for a whole window (30 days by default) is listed for offboarding: an agent retired without offboarding keeps its owners, keys and grants.",
            evidence.identities_in_use, ("NHI1:2025", "GOVERN 1.7", "ID.AM-08", "IAM-07", "IAM-08")),
    Control("owners-in-directory", "NHIP-20", "Owners leave when the directory says so",
            "An owner's account follows the organisation's directory (single sign-on or SCIM), so the day they leave their identities show as orphaned and their access to the portal ends, without waiting for someone to remember.",
            evidence.owners_in_directory, ("NHI1:2025", "IAM-06", "IAM-07", "PR.AA-01")),
    Control("two-factors", "NHIP-21", "People who decide access sign in with two factors",
            "Reviewers and security admins approve access, confirm leaks and revoke tokens: a stolen password alone must not do that in their name.",
            evidence.two_factors, ("AAL2", "IAM-14", "PR.AA-03")),
    Control("access-reviewed", "NHIP-22", "Old access is reviewed",
            "Access an agent has held for a year is confirmed by the people who answer for the service, or revoked: grants outlive the work they were made for.",
            evidence.access_reviewed, ("NHI5:2025", "IAM-08", "PR.AA-05")),
    Control("networks-bound", "NHIP-23", "A copied key is refused elsewhere and noticed",
            "Production agents get tokens only from their own networks, and a token to a network an identity never used before reaches its owners at once: a key copied out of its deployment is refused, or seen.",
            evidence.networks_bound, ("NHI2:2025", "NHI8:2025", "ASI03", "DE.CM-03", "L4")),
    Control("token-rates-limited", "NHIP-24", "A runaway agent is slowed down",
            "Every identity may obtain only so many tokens a minute: an agent stuck in a loop, or a copied key in someone else's script, gets a minute's worth and then 429s, not thousands of live tokens, and the identities that reached their limit are listed.",
            evidence.token_rates_limited, ("ASI08", "ASI10", "DE.CM-09", "MANAGE 2.4")),
    Control("tool-servers-in-step", "NHIP-25", "Tool servers offer only what was registered",
            "A service that publishes its resource metadata, as MCP servers do, is compared with its registration every day: a scope that appears there (a new tool) or goes is listed until a security admin registers or removes it, and none reaches an agent unregistered.",
            evidence.tool_servers_in_step, ("ASI02", "ASI04", "ID.AM-02", "DE.CM-09", "L7")),
)
_BY_ID = {control.id: control for control in CONTROLS}
_BY_NUMBER = {control.number.lower(): control for control in CONTROLS}


def control_get(control_id: str) -> Control | None:
    return _BY_ID.get(control_id)


def control_by_number(number: str) -> Control | None:
    """The control a number such as NHIP-01 names (the pages and exports show numbers)."""
    return _BY_NUMBER.get(number.lower())


@dataclass(frozen=True)
class Assessment:
    control: Control
    result: evidence.Evidence
    entries: tuple


def assess(controls=CONTROLS, now=None) -> list[Assessment]:
    """Run each control's evidence now."""
    now = now or timezone.now()
    catalogue = entries()
    return [Assessment(c, c.evidence(now), tuple(catalogue[e] for e in c.maps)) for c in controls]


def coverage() -> dict[str, list[Control]]:
    """Framework entry id -> the controls that serve it."""
    served = {}
    for control in CONTROLS:
        for entry_id in control.maps:
            served.setdefault(entry_id, []).append(control)
    return served
