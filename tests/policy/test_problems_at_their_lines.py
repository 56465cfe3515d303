"""A security admin saving a long policy set through the page and the API sees every problem
once, at the line it is on, and never a server error."""

import json

from django.urls import reverse

from tokens.policy.models import PolicyVersion
from tokens.policy.schema import default_policy_text

from .conftest import ALLOW_EXAMPLE

# The shipped set is long: a policy added at its end starts well past line 40.
BASE = default_policy_text().rstrip("\n") + "\n\n"
FIRST = len(BASE.split("\n"))  # the added policy's first line


def post_version(client, text):
    data = {"text": text, "examples": json.dumps(ALLOW_EXAMPLE), "mode": "enforce", "note": ""}
    return client.post(reverse("policy:version-create"), data)


def problem_lines(response) -> list[int]:
    return [line["number"] for line in response.context["lines"] if line["problems"]]


def added(*lines) -> str:
    return BASE + "\n".join(lines) + "\n"


def test_an_unknown_context_attribute_is_shown_once_at_its_line(client_for, sam):
    text = added('@id("x")', "forbid (principal, action, resource)", "when {",
                 '  principal.status == "active" &&', "  context.nope", "};")
    response = post_version(client_for(sam), text)
    assert response.status_code == 400
    assert response.context["form"].errors["text"] == [f"Line {FIRST + 4}: attribute `nope` in context not found"]
    assert problem_lines(response) == [FIRST + 4]
    assert not PolicyVersion.objects.exists()


def test_a_type_error_deep_in_a_condition_is_shown_at_its_line(client_for, sam):
    text = added('@id("x")', "forbid (principal, action, resource)", "when {",
                 '  principal.status == "active" &&', '  principal.kind == "agent" &&',
                 '  principal.risk_score == "high"', "};")
    response = post_version(client_for(sam), text)
    assert response.status_code == 400
    assert response.context["form"].errors["text"] == [f"Line {FIRST + 5}: the types Long and String are not compatible"]
    assert problem_lines(response) == [FIRST + 5]


def test_a_syntax_error_seen_only_at_the_end_of_a_policy_is_shown_at_its_line(client_for, sam):
    text = added('@id("x")', "forbid (principal, action, resource)", "when {",
                 '  principal.status == "active" &&', '  principal.kind = "agent"', "};")
    response = post_version(client_for(sam), text)
    assert response.status_code == 400
    assert response.context["form"].errors["text"] == [f"Line {FIRST + 4}: '=' is not a valid operator in Cedar"]
    assert problem_lines(response) == [FIRST + 4]


def test_an_extension_call_with_the_wrong_arguments_is_a_problem_at_its_line_not_a_server_error(client_for, sam):
    text = added('@id("x")', "forbid (principal, action, resource)", "when {",
                 '  principal.status == "active" &&', '  context.source_address.isInRange(ip("10.0.0.0/8", 3))', "};")
    response = post_version(client_for(sam), text)
    assert response.status_code == 400
    [error] = response.context["form"].errors["text"]
    assert error.startswith(f"Line {FIRST + 4}: ") and "argument" in error
    assert not PolicyVersion.objects.exists()


def test_the_api_reports_an_extension_call_with_the_wrong_arguments_as_a_problem(client_for, sam):
    text = added('@id("x")', "forbid (principal, action, resource)",
                 'when { context.source_address.isInRange(ip("10.0.0.0/8", 3)) };')
    client = client_for(sam)
    body = {"text": text, "examples": ALLOW_EXAMPLE}
    checked = client.post(reverse("api:policyversion-check"), body, content_type="application/json")
    assert checked.status_code == 200 and checked.json()["ok"] is False
    assert checked.json()["problems"][0].startswith(f"Line {FIRST + 2}: ")
    created = client.post(reverse("api:policyversion-list"), body, content_type="application/json")
    assert created.status_code == 400 and created.json()["text"][0].startswith(f"Line {FIRST + 2}: ")
    assert not PolicyVersion.objects.exists()
