"""Example requests with expected decisions: parsed strictly, run against a version."""

import pytest
from django.core.exceptions import ValidationError

from tokens.policy.compiled import CompiledPolicy
from tokens.policy.examples import examples_parse, examples_run

from .conftest import DENY_ALL


def messages(raw):
    with pytest.raises(ValidationError) as error:
        examples_parse(raw)
    return error.value.messages


def test_it_reads_examples_from_json_text():
    assert examples_parse('[{"name": "a", "expect": "deny", "principal": {"status": "suspended"}}]')[0]["name"] == "a"
    assert examples_parse("") == []


def test_it_says_where_the_json_breaks():
    assert messages('[{"name": "a",\n "expect": }]') == ["Not valid JSON: Expecting value at line 2, column 12."]


def test_it_needs_a_list():
    assert messages('{"name": "a"}') == ["Examples must be a JSON list of objects."]


def test_it_names_each_bad_example():
    problems = messages(
        '[{"expect": "allow"},'
        ' {"name": "b", "expect": "maybe"},'
        ' {"name": "c", "expect": "allow", "principal": {"colour": "red"}},'
        ' {"name": "d", "expect": "allow", "context": {"requested_ttl": "soon"}},'
        ' {"name": "e", "expect": "allow", "action": "fly"},'
        ' {"name": "f", "expect": "allow", "surprise": 1}]'
    )
    assert problems[0] == "Example 1 needs a name."
    assert problems[1] == 'Example 2 ("b"): "expect" must be "allow" or "deny".'
    assert problems[2].startswith('Example 3 ("c"): principal has unknown facts: colour')
    assert problems[3] == 'Example 4 ("d"): context.requested_ttl must be a whole number.'
    assert problems[4].startswith('Example 5 ("e"): action must be one of')
    assert problems[5].startswith('Example 6 ("f") has unknown keys: surprise')


def test_it_needs_unique_names():
    assert messages('[{"name": "a", "expect": "allow"}, {"name": "a", "expect": "deny"}]') == [
        'Two examples are named "a"; names must be unique.'
    ]


def test_it_runs_examples_and_reports_each_result():
    compiled = CompiledPolicy(DENY_ALL)
    results = examples_run(
        compiled,
        [
            {"name": "denied", "expect": "deny", "expect_policies": ["forbid-everything"]},
            {"name": "hoped for allow", "expect": "allow"},
        ],
    )
    assert [(r.name, r.decision, r.passed) for r in results] == [("denied", "deny", True), ("hoped for allow", "deny", False)]
    assert results[0].policy_ids == ("forbid-everything",)


def test_it_fails_a_stored_example_that_no_longer_fits_the_schema():
    result = examples_run(CompiledPolicy(DENY_ALL), [{"name": "old", "expect": "deny", "principal": {"gone": 1}}])[0]
    assert not result.passed and result.decision == "error" and "gone" in result.errors[0]


def test_an_example_denied_by_an_evaluation_error_fails_whatever_it_expected():
    overflowing = CompiledPolicy("""
@id("permit-all")
permit (principal, action, resource);

@id("forbid-overflow")
forbid (principal, action, resource)
when { context.requested_ttl * 9223372036854775807 > 1 };
""")
    [result] = examples_run(
        overflowing, [{"name": "a long ttl is refused", "context": {"requested_ttl": 300}, "expect": "deny", "expect_policies": ["forbid-overflow"]}],
    )
    assert result.decision == "deny" and result.policy_ids == ("forbid-overflow",)  # what the engine answered
    assert result.errors and not result.passed  # but the policy never decided it
