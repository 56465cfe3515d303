"""A policy set ready to judge requests: parsed once, its annotations read once.

Parsing is several times the cost of an evaluation, so compiled sets are kept per version
for the life of the process. A saved version's text never changes (a change is a new
version), so the key (version id, created_at) identifies the text; created_at guards against
an id reused after a rolled-back insert.
"""

import re
from dataclasses import dataclass

import cedarpy

from nhiportal.ids import as_id

from .schema import default_policy_text, schema_handle

ALLOW = "allow"
DENY = "deny"
_POLICY_REF = re.compile(r"`(policy\d+)`")
VERDICT_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Verdict:
    """What the policies said about one request."""

    decision: str  # ALLOW or DENY; an evaluation error is a DENY (fails closed)
    policy_ids: tuple[str, ...]  # the @ids of the policies that determined it
    errors: tuple[str, ...]
    ttl_bound: int | None  # the smallest @ttl_max among the determining permits


class CompiledPolicy:
    def __init__(self, text: str):
        self.policy_set = cedarpy.PolicySet.from_str(text)
        policies = self.policy_set.to_pst().static_policies
        # Cedar names policies by position (policy0, policy1 ...); people know them by @id.
        self.labels = {pid: p.annotations.get("id") or pid for pid, p in policies.items()}
        self.ttl_max = {
            pid: as_id(p.annotations["ttl_max"])
            for pid, p in policies.items()
            if as_id(p.annotations.get("ttl_max")) is not None
        }
        self._verdicts: dict[tuple, Verdict] = {}

    def _label_refs(self, message: str) -> str:
        return _POLICY_REF.sub(lambda m: f"`{self.labels.get(m.group(1), m.group(1))}`", message)

    def judge(self, request, *, strict: bool = False) -> Verdict:
        """Evaluate a CedarRequest. `strict` checks the request against the schema too:
        for facts typed in by people; the issuance path builds well-typed requests itself.

        Non-strict verdicts are remembered per request: Cedar's answer depends on nothing but
        this policy set and the request's facts (the hour and weekday included), agents ask
        with the same facts again and again, and issuance asks while it holds its write lock,
        where Cedar's evaluation is most of the decision's cost.
        """
        if strict:
            return self._evaluate(request, strict=True)
        key = _request_key(request)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._evaluate(request, strict=False)
            if len(self._verdicts) >= VERDICT_CACHE_SIZE:
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict

    def _evaluate(self, request, *, strict: bool) -> Verdict:
        try:
            result = cedarpy.is_authorized(
                request.call(), self.policy_set, request.entities(), schema=schema_handle() if strict else None
            )
        except (ValueError, TypeError) as exc:
            return Verdict(DENY, (), (f"the request could not be evaluated: {exc}",), None)
        reasons = result.diagnostics.reasons
        errors = tuple(self._label_refs(e) for e in result.diagnostics.errors)
        if result.allowed and not errors:
            bounds = [self.ttl_max[pid] for pid in reasons if pid in self.ttl_max]
            return Verdict(ALLOW, tuple(self.labels.get(pid, pid) for pid in reasons), (), min(bounds) if bounds else None)
        if result.allowed or not reasons:
            # No forbid decided it: either nothing permitted it (no ids), or a policy failed,
            # and then the permits do not count (fail closed): name the failing policies.
            reasons = list(dict.fromkeys(m for e in result.diagnostics.errors for m in _POLICY_REF.findall(e)))
        return Verdict(DENY, tuple(self.labels.get(pid, pid) for pid in reasons), errors, None)


def _request_key(request) -> tuple:
    """Every fact of a CedarRequest, hashable; lists become tuples (their order is kept).
    The type is part of the key: True == 1 in Python, not in Cedar."""

    def frozen(facts: dict) -> tuple:
        return tuple(
            (name, type(value), tuple(value) if isinstance(value, list) else value) for name, value in facts.items()
        )

    return (request.action, request.principal_id, frozen(request.principal), request.service_id,
            frozen(request.service), frozen(request.context))


_COMPILED: dict[tuple, CompiledPolicy] = {}
_DEFAULT: list[CompiledPolicy] = []
# What decides when the active version's text no longer compiles (say, after a Cedar upgrade
# changed the language): every request is denied, and the log names the reason.
UNUSABLE_POLICY_ID = "portal-active-version-unusable"
_UNUSABLE: list[CompiledPolicy] = []


def compiled_version(version) -> CompiledPolicy:
    """The compiled policy set of a saved PolicyVersion (or of its id, created_at and text)."""
    key = (version.pk, version.created_at)
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED[key] = CompiledPolicy(version.text)
    return compiled


def compiled_cached(version_id, created_at) -> CompiledPolicy | None:
    return _COMPILED.get((version_id, created_at))


def compiled_unusable() -> CompiledPolicy:
    if not _UNUSABLE:
        _UNUSABLE.append(CompiledPolicy(f'@id("{UNUSABLE_POLICY_ID}")\nforbid (principal, action, resource);'))
    return _UNUSABLE[0]


def compiled_default() -> CompiledPolicy:
    """The shipped default set: what applies while no version is active."""
    if not _DEFAULT:
        _DEFAULT.append(CompiledPolicy(default_policy_text()))
    return _DEFAULT[0]
