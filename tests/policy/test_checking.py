"""Policy text is checked before it is saved, and each problem is named at its line."""

import pytest

from tokens.policy.checking import policy_problems


def lines_and_messages(text):
    return [(p.line, p.message) for p in policy_problems(text)]


def test_it_accepts_valid_policies():
    assert policy_problems('@id("a")\npermit (principal, action, resource);\n') == []


def test_it_places_a_syntax_error_on_its_line():
    text = '@id("a")\npermit (principal, action, resource);\n\n@id("b")\npermit (principal, action, resource)\nwhen {\n  principal.status ==\n};\n'
    assert lines_and_messages(text) == [(8, "unexpected token `}`")]


def test_it_places_an_unknown_attribute_on_its_line():
    text = '// a comment; with "quotes\n@id("a")\npermit (principal, action, resource)\nwhen {\n  principal.status == "active" &&\n  principal.nope == "x"\n};\n'
    problems = lines_and_messages(text)
    assert len(problems) == 1
    assert problems[0][0] == 6 and "nope" in problems[0][1]


def test_it_places_a_type_error_in_the_condition():
    text = '@id("a")\npermit (principal, action, resource)\nwhen { context.scopes.contains(3) };\n'
    assert [line for line, _ in lines_and_messages(text)] == [3]


def test_it_asks_for_has_on_optional_context_once():
    text = '@id("a")\npermit (principal, action, resource)\nwhen { context.sensitivity > 1 };\n'
    problems = lines_and_messages(text)
    assert len(problems) == 1 and "sensitivity" in problems[0][1] and problems[0][0] == 3


def test_it_refuses_unknown_actions_and_entity_types():
    text = '@id("a")\npermit (principal is User, action == Action::"fly", resource);\n'
    assert lines_and_messages(text)[0][0] == 2


def test_it_needs_an_id_on_every_policy():
    problems = lines_and_messages('@id("a")\npermit (principal, action, resource);\nforbid (principal, action, resource);\n')
    assert problems == [(3, 'Every policy needs an @id("...") annotation, so decisions can name it.')]


def test_it_needs_unique_ids():
    problems = lines_and_messages('@id("a")\npermit (principal, action, resource);\n@id("a")\nforbid (principal, action, resource);\n')
    assert problems == [(3, '@id("a") is already used on line 1; ids must be unique.')]


@pytest.mark.parametrize("ttl", ["soon", "²", "0"])
def test_it_needs_ttl_bounds_in_whole_seconds(ttl):
    problems = lines_and_messages(f'@id("a")\n@ttl_max("{ttl}")\npermit (principal, action, resource);\n')
    assert problems == [(1, f'@ttl_max("{ttl}") must be a whole number of seconds above zero.')]


def test_it_refuses_empty_text():
    assert lines_and_messages("  \n// nothing\n") == [(None, "Write at least one policy.")]


def test_it_refuses_templates():
    problems = lines_and_messages('@id("t")\npermit (principal == ?principal, action, resource);\n')
    assert any("Templates" in message for _, message in problems)
