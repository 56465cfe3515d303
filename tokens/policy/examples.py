"""A version's example requests with expected decisions: the policy set's own tests.

An example names itself, says what it asks (action, and only the facts it is about; the
rest take the example values in cedar_request), and what it expects:

    {"name": "An orphaned agent gets nothing", "action": "issue",
     "principal": {"owners_active": false},
     "expect": "deny", "expect_policies": ["forbid-no-active-owner"]}
"""

import json
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from nhiportal import json_input

from .cedar_request import FactsError, request_from_facts
from .compiled import ALLOW, DENY, CompiledPolicy
from .schema import HERE

EXAMPLE_KEYS = {"name", "action", "principal", "principal_id", "service", "service_id", "context", "expect", "expect_policies"}
DEFAULT_EXAMPLES_PATH = HERE / "default_examples.json"


def default_examples() -> list[dict]:
    return json.loads(DEFAULT_EXAMPLES_PATH.read_text())


def _example_problem(position: int, example) -> str | None:
    where = f"Example {position}"
    if not isinstance(example, dict):
        return f"{where} must be an object."
    if isinstance(example.get("name"), str) and example["name"].strip():
        where = f'{where} ("{example["name"]}")'
    else:
        return f"{where} needs a name."
    unknown = sorted(set(example) - EXAMPLE_KEYS)
    if unknown:
        return f"{where} has unknown keys: {', '.join(unknown)} (known: {', '.join(sorted(EXAMPLE_KEYS))})."
    if example.get("expect") not in (ALLOW, DENY):
        return f'{where}: "expect" must be "allow" or "deny".'
    expected = example.get("expect_policies", [])
    if not isinstance(expected, list) or not all(isinstance(p, str) for p in expected):
        return f'{where}: "expect_policies" must be a list of policy ids.'
    try:
        request_from_facts(example)
    except FactsError as exc:
        return f"{where}: {exc}"
    return None


def examples_parse(raw) -> list[dict]:
    """Read examples from JSON text (or an already-decoded list); ValidationError says what is wrong."""
    if isinstance(raw, str):
        if not raw.strip():
            return []
        try:
            raw = json_input.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from exc
        except ValueError as exc:  # nested too deeply, or NaN
            raise ValidationError(f"Not valid JSON: {exc}") from exc
    if not isinstance(raw, list):
        raise ValidationError("Examples must be a JSON list of objects.")
    problems = [p for i, example in enumerate(raw, start=1) if (p := _example_problem(i, example))]
    if problems:
        raise ValidationError(problems)
    names = [e["name"] for e in raw]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValidationError([f'Two examples are named "{n}"; names must be unique.' for n in repeated])
    return raw


@dataclass(frozen=True)
class ExampleResult:
    name: str
    action: str
    expect: str
    expect_policies: tuple[str, ...]
    decision: str
    policy_ids: tuple[str, ...]
    errors: tuple[str, ...]

    @property
    def passed(self) -> bool:
        # A deny from an evaluation error is the engine failing closed, not the policy deciding:
        # an example "passing" on it would make a broken policy look tested.
        return not self.errors and self.decision == self.expect and set(self.expect_policies) <= set(self.policy_ids)


def examples_run(compiled: CompiledPolicy, examples: list[dict]) -> list[ExampleResult]:
    results = []
    for example in examples:
        expected = dict(
            name=example["name"], expect=example["expect"], expect_policies=tuple(example.get("expect_policies", ()))
        )
        try:
            request = request_from_facts(example)
        except FactsError as exc:  # saved before the schema changed: it fails, it does not crash
            results.append(ExampleResult(**expected, action=str(example.get("action", "")), decision="error", policy_ids=(), errors=(str(exc),)))
            continue
        verdict = compiled.judge(request, strict=True)
        results.append(
            ExampleResult(
                **expected, action=request.action, decision=verdict.decision, policy_ids=verdict.policy_ids, errors=verdict.errors
            )
        )
    return results
