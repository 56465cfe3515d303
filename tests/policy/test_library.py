"""The rule library on the new-version page: every rule checks against the schema and, added to
the shipped set, passes the shipped examples and its own; its examples show it deciding."""

import re

import pytest

from tokens.policy.checking import statements
from tokens.policy.examples import default_examples
from tokens.policy.library import RULES, library_json
from tokens.policy.schema import default_policy_text
from tokens.policy.services import policy_check


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_each_rule_added_to_the_shipped_set_passes_every_example(rule):
    text = default_policy_text().rstrip("\n") + "\n\n" + rule.text
    assert policy_check(text=text, examples=default_examples() + list(rule.examples)) == []


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_each_rule_is_one_statement_named_by_its_id_and_an_example_shows_it_deciding(rule):
    assert re.findall(r'@id\("([^"]+)"\)', rule.text) == [rule.id]
    assert len(statements(rule.text)) == 1
    assert any(rule.id in example.get("expect_policies", ()) for example in rule.examples)
    # Without the rule, the example it decides would come out otherwise: it is not decorative.
    deciding = [e for e in rule.examples if rule.id in e.get("expect_policies", ())]
    without = policy_check(text=default_policy_text(), examples=deciding)
    assert without, f"{rule.id}: its examples pass without it"


def test_rule_ids_and_example_names_are_unique_across_the_library():
    assert len({rule.id for rule in RULES}) == len(RULES)
    names = [example["name"] for rule in RULES for example in rule.examples] + [e["name"] for e in default_examples()]
    assert len(names) == len(set(names))
    assert [entry["id"] for entry in library_json()] == [rule.id for rule in RULES]
