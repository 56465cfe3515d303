"""Checking policy text before it is saved: parse, validate against the schema, and our own
rules (every policy names itself with @id; @ttl_max is a number of seconds), each problem
at its line.

Cedar's messages carry no positions, so the line is found here: the text is cut into
statements (at each top-level `;`), the failing statement is the first that does not parse
on its own, and within it the line is where a growing prefix first fails for a reason other
than "unexpected end of input" (or, for errors only seen once a statement is complete, the
line naming the token the message quotes, else the line of the condition that gives the same
error on its own). Validation errors name their policy (`policyN`, by position), which maps
to the Nth statement.
"""

import re
from dataclasses import dataclass

import cedarpy

from nhiportal.ids import as_id

from .schema import schema_handle

END_OF_INPUT = "unexpected end of input"
_QUOTED = re.compile(r"`([^`]+)`")
_POLICY_REF = re.compile(r"\bpolicy(\d+)\b")
# The validator repeats an error once per action the policy applies to ("attribute `x` in
# context for Action::"issue" not found"); one is enough.
_PER_ACTION = re.compile(r' for Action::"[^"]*"')
_CONDITION = re.compile(r"\b(when|unless)\b")
_EFFECT = re.compile(r"^\s*(permit|forbid)\b")
_JOINERS = re.compile(r"^(?:&&|\|\|)\s*|\s*(?:&&|\|\|)$")
# Trying each line of a condition on its own costs a parse (and a validation) per line, on
# the error path only; a longer statement falls back to its condition's first line.
MAX_LINES_TRIED = 200


@dataclass(frozen=True)
class Problem:
    line: int | None  # 1-based; None when no line can be named
    message: str

    def __str__(self):
        return f"Line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True)
class Statement:
    first_line: int  # 1-based, the statement's first line with code on it
    lines: tuple[str, ...]  # the source lines it spans, whole

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def statements(text: str) -> list[Statement]:
    """Cut policy text into statements at top-level semicolons, skipping strings and comments."""
    found = []
    lines = text.split("\n")
    start = None  # (line index) where the current statement's code began
    in_string = False
    for index, line in enumerate(lines):
        col = 0
        while col < len(line):
            char = line[col]
            if in_string:
                if char == "\\":
                    col += 1
                elif char == '"':
                    in_string = False
            elif line.startswith("//", col):
                break
            elif char == '"':
                in_string = True
            elif char == ";":
                begin = index if start is None else start
                found.append(Statement(begin + 1, tuple(lines[begin : index + 1])))
                start = None
                col += 1
                continue
            if start is None and not char.isspace():
                start = index
            col += 1
    if start is not None:
        found.append(Statement(start + 1, tuple(lines[start:])))
    return found


def _parse_error(text: str) -> str | None:
    try:
        cedarpy.PolicySet.from_str(text)
    except ValueError as exc:
        return str(exc)
    return None


def _condition_parts(statement: Statement):
    """(line number, expression) for each line of the statement's condition that reads as an
    expression of its own once the `&&` or `||` joining it to the next is taken off."""
    in_condition = False
    for offset, line in enumerate(statement.lines[:MAX_LINES_TRIED]):
        code = line.split("//", 1)[0]
        match = _CONDITION.search(code)
        if match:
            in_condition = True
            code = code[match.end():].lstrip().removeprefix("{")
        if not in_condition:
            continue
        code = code.strip().removesuffix(";").rstrip().removesuffix("}").strip()
        while True:
            shorter = _JOINERS.sub("", code).strip()
            if shorter == code:
                break
            code = shorter
        if code:
            yield statement.first_line + offset, code


def _alone(expression: str) -> str:
    return f"permit (principal, action, resource) when {{ {expression} }};"


def _gives_parse_error(message: str):
    return lambda expression: _parse_error(_alone(expression)) == message


def _gives_validation_error(message: str):
    def gives(expression: str) -> bool:
        text = _alone(expression)
        if _parse_error(text) is not None:
            return False
        return any(_validation_message(e) == message for e in cedarpy.validate_policies(text, schema_handle()).errors)

    return gives


def _validation_message(error) -> str:
    return _PER_ACTION.sub("", error.error.replace(f"for policy `{error.policy_id}`, ", ""))


def _line_naming(statement: Statement, message: str, skip: str = "", gives_it=None) -> int:
    """The first line of the statement that contains a token the message quotes; else the
    first line of its condition that `gives_it` (the same error on its own)."""
    tokens = [t for t in _QUOTED.findall(message) if t != skip]
    if ":" in message:
        tokens.append(message.rsplit(":", 1)[1].strip())
    for token in tokens:
        if not token:
            continue
        for offset, line in enumerate(statement.lines):
            code = line.split("//", 1)[0]
            if re.search(rf"(?<![\w]){re.escape(token)}(?![\w])", code):
                return statement.first_line + offset
    if gives_it is not None and "scope" not in message:
        for number, expression in _condition_parts(statement):
            if gives_it(expression):
                return number
    # Messages that quote nothing are about the scope (the effect's line) or, more often,
    # about types in a condition.
    wanted = _EFFECT if "scope" in message else _CONDITION
    for pattern in (wanted, _EFFECT):
        for offset, line in enumerate(statement.lines):
            if pattern.search(line.split("//", 1)[0]):
                return statement.first_line + offset
    return statement.first_line


def _locate_parse_error(statement: Statement, message: str) -> int:
    lines = statement.lines
    for count in range(1, len(lines)):
        error = _parse_error("\n".join(lines[:count]))
        if error is not None and error != END_OF_INPUT:
            return statement.first_line + count - 1
    return _line_naming(statement, message, gives_it=_gives_parse_error(message))


def _parse_problem(text: str, message: str) -> Problem:
    for statement in statements(text):
        error = _parse_error(statement.text)
        if error is not None:
            return Problem(_locate_parse_error(statement, error), error)
    return Problem(None, message)


def _annotation_problems(policy_set: cedarpy.PolicySet, found: list[Statement], validated: bool) -> list[Problem]:
    problems = []
    seen: dict[str, int] = {}
    try:
        pst = policy_set.to_pst()
    except ValueError as exc:
        # Some mistakes (an extension function called with the wrong number of arguments)
        # parse but cannot be read back; the validator names them at their line.
        return [] if validated else [Problem(None, str(exc))]
    if pst.templates:
        problems.append(Problem(None, "Templates (?principal, ?resource) are not supported; write concrete policies."))
    for position, (policy_id, policy) in enumerate(pst.static_policies.items()):
        line = found[position].first_line if position < len(found) else None
        label = policy.annotations.get("id", "")
        if not label:
            problems.append(Problem(line, 'Every policy needs an @id("...") annotation, so decisions can name it.'))
        elif label in seen:
            problems.append(Problem(line, f'@id("{label}") is already used on line {seen[label]}; ids must be unique.'))
        else:
            seen[label] = line
        ttl = policy.annotations.get("ttl_max")
        if ttl is not None and not (as_id(ttl) or 0) > 0:
            problems.append(Problem(line, f'@ttl_max("{ttl}") must be a whole number of seconds above zero.'))
    return problems


def policy_problems(text: str) -> list[Problem]:
    """Everything wrong with the policy text, each at its line; empty when it may be saved."""
    if not text.strip():
        return [Problem(None, "Write at least one policy.")]
    try:
        policy_set = cedarpy.PolicySet.from_str(text)
    except ValueError as exc:
        return [_parse_problem(text, str(exc))]
    found = [s for s in statements(text) if _parse_error(s.text) is None and s.text.strip()]
    if len(policy_set) == 0 and not policy_set.templates():
        return [Problem(None, "Write at least one policy.")]
    problems = []
    result = cedarpy.validate_policies(text, schema_handle())
    for error in result.errors:
        match = _POLICY_REF.fullmatch(error.policy_id or "")
        if match and int(match.group(1)) < len(found):
            statement = found[int(match.group(1))]
            message = _validation_message(error)
            line = _line_naming(statement, message, skip=error.policy_id, gives_it=_gives_validation_error(message))
            problems.append(Problem(line, message))
        else:
            problems.append(Problem(None, error.error))
    problems.extend(_annotation_problems(policy_set, found, validated=bool(problems)))
    return sorted(set(problems), key=lambda p: (p.line or 0, p.message))
