"""manage.py policy_apply: a policy set kept in a repository is checked in CI and applied on merge."""

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from nhiportal.audit.models import AuditEvent
from tokens.policy.engine import active_policy
from tokens.policy.examples import default_examples
from tokens.policy.models import PolicyMode, PolicyVersion
from tokens.policy.schema import default_policy_text
from tokens.policy.services import policy_apply

from .conftest import ALLOW_ALL, ALLOW_EXAMPLE, DENY_ALL, DENY_EXAMPLE


@pytest.fixture
def files(tmp_path):
    def write(text, examples):
        policies, tests = tmp_path / "policies.cedar", tmp_path / "examples.json"
        policies.write_text(text)
        tests.write_text(examples if isinstance(examples, str) else json.dumps(examples))
        return str(policies), str(tests)

    return write


def apply(policies, examples, *args) -> str:
    out = StringIO()
    call_command("policy_apply", policies, "--examples", examples, *args, stdout=out)
    return out.getvalue()


def test_check_passes_a_valid_set_and_writes_nothing(files, db):
    assert "every example passes" in apply(*files(ALLOW_ALL, ALLOW_EXAMPLE), "--check")
    assert not PolicyVersion.objects.exists() and not AuditEvent.objects.exists()


def test_check_names_the_failing_example_and_the_deciding_policy(files, db):
    with pytest.raises(CommandError) as refused:
        apply(*files(DENY_ALL, ALLOW_EXAMPLE), "--check")
    assert "example 'anything goes': expected allow, got deny by forbid-everything" in str(refused.value)
    assert not PolicyVersion.objects.exists()


def test_check_names_the_schema_problem_by_line(files, db):
    with pytest.raises(CommandError) as refused:
        apply(*files('@id("a")\npermit (principal, action, resource)\nwhen { principal.colour == "red" };\n', ALLOW_EXAMPLE), "--check")
    assert "colour" in str(refused.value)


def test_check_refuses_malformed_or_missing_examples(files, db):
    with pytest.raises(CommandError, match="examples: Not valid JSON"):
        apply(*files(ALLOW_ALL, "[{"), "--check")
    with pytest.raises(CommandError, match="at least one example"):
        apply(*files(ALLOW_ALL, []), "--check")


def test_it_saves_and_activates_once_and_applying_again_changes_nothing(files, sam):
    paths = files(default_policy_text(), default_examples())
    said = apply(*paths, "--activate", "--reason", "Merged #42", "--actor", "sam", "--note", "commit 1a2b3c")
    assert said.strip() == "Saved version 1. Activated version 1 (enforce)."
    version = PolicyVersion.objects.get()
    assert version.is_active and version.note == "commit 1a2b3c" and version.created_by == sam
    assert active_policy().version_id == version.pk
    policy_events = AuditEvent.objects.filter(action__startswith="policy.")
    assert list(policy_events.order_by("id").values_list("action", "actor_label")) == [
        ("policy.version_create", "sam"), ("policy.activate", "sam"),
    ]
    assert apply(*paths, "--activate", "--reason", "Merged #43", "--actor", "sam").strip() == "Unchanged: version 1 has these files already. It is the active version."
    assert PolicyVersion.objects.count() == 1 and policy_events.count() == 2


def test_a_change_makes_a_new_version_and_without_actor_the_trail_names_the_command(files, db):
    apply(*files(ALLOW_ALL, ALLOW_EXAMPLE))
    said = apply(*files(ALLOW_ALL, ALLOW_EXAMPLE + [{"name": "and this", "expect": "allow"}]), "--mode", PolicyMode.LOG_ONLY)
    assert said.strip() == "Saved version 2."
    assert PolicyVersion.objects.get(number=2).mode == PolicyMode.LOG_ONLY
    assert set(AuditEvent.objects.values_list("actor_label", flat=True)) == {"system:policy_apply"}


def test_a_refused_activation_saves_no_version_either(files, sam):
    apply(*files(ALLOW_ALL, ALLOW_EXAMPLE), "--activate", "--reason", "First version")
    with pytest.raises(CommandError) as refused:
        apply(*files(DENY_ALL, ALLOW_EXAMPLE), "--activate", "--reason", "Lock it down")
    assert "nothing was saved" in str(refused.value) and "do not pass" in str(refused.value)
    assert list(PolicyVersion.objects.values_list("number", flat=True)) == [1]


def test_the_activation_keeps_its_reason_in_its_audit_event_as_the_page_does(files, sam):
    apply(*files(default_policy_text(), default_examples()), "--activate", "--reason", "  Merged #42: tighter exports  ", "--actor", "sam")
    event = AuditEvent.objects.get(action="policy.activate")
    assert event.reason == "Merged #42: tighter exports" and event.actor_label == "sam"


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_activating_without_a_reason_is_refused_and_saves_nothing(files, sam, reason):
    args = ["--activate", "--actor", "sam"] + (["--reason", reason] if reason is not None else [])
    with pytest.raises(CommandError, match="--activate needs --reason") as refused:
        apply(*files(default_policy_text(), default_examples()), *args)
    assert "Nothing was saved" in str(refused.value)
    assert not PolicyVersion.objects.exists() and not AuditEvent.objects.filter(action__startswith="policy.").exists()


def test_a_reason_without_activate_is_refused_rather_than_dropped(files, db):
    with pytest.raises(CommandError, match="--reason is kept with an activation"):
        apply(*files(ALLOW_ALL, ALLOW_EXAMPLE), "--reason", "Merged #42")
    assert not PolicyVersion.objects.exists()


def test_checking_needs_no_reason(files, db):
    assert "every example passes" in apply(*files(ALLOW_ALL, ALLOW_EXAMPLE), "--check", "--activate")


def test_the_service_refuses_an_activation_without_a_reason_too(sam):
    with pytest.raises(ValidationError) as refused:
        policy_apply(actor=sam, text=default_policy_text(), examples=default_examples(), activate=True, reason=" ")
    assert "reason" in refused.value.message_dict
    assert not PolicyVersion.objects.exists()


def test_a_set_that_does_not_validate_is_refused_with_the_reason(files, db):
    with pytest.raises(CommandError) as refused:
        apply(*files("permit (principal, action, resource)\nwhen { };\n", DENY_EXAMPLE))
    assert "text: Line 2" in str(refused.value) and not PolicyVersion.objects.exists()


def test_the_actor_must_be_an_active_security_admin(files, alice):
    with pytest.raises(CommandError, match="must name an active security admin"):
        apply(*files(ALLOW_ALL, ALLOW_EXAMPLE), "--actor", "alice")
    with pytest.raises(CommandError, match="must name an active security admin"):
        apply(*files(ALLOW_ALL, ALLOW_EXAMPLE), "--actor", "nobody")
    assert not PolicyVersion.objects.exists()


def test_an_unreadable_file_is_a_clear_error(tmp_path, db):
    with pytest.raises(CommandError, match="Cannot read"):
        apply(str(tmp_path / "missing.cedar"), str(tmp_path / "missing.json"), "--check")


# The same check over the API, for a pipeline without a shell on the portal


def check(client, body):
    return client.post("/api/v1/policy-versions/check/", body, content_type="application/json")


def test_the_api_check_answers_ok_or_the_problems_and_saves_nothing(client_for, sam):
    client = client_for(sam)
    assert check(client, {"text": ALLOW_ALL, "examples": ALLOW_EXAMPLE}).json() == {"ok": True, "problems": []}
    refused = check(client, {"text": DENY_ALL, "examples": ALLOW_EXAMPLE})
    assert refused.status_code == 200 and refused.json()["ok"] is False
    assert refused.json()["problems"] == ["example 'anything goes': expected allow, got deny by forbid-everything"]
    assert not PolicyVersion.objects.exists() and not AuditEvent.objects.filter(action__startswith="policy.").exists()


def test_the_api_check_wants_both_fields(client_for, sam):
    response = check(client_for(sam), {"text": ALLOW_ALL})
    assert response.status_code == 400 and "examples" in response.json()


def test_only_security_admins_check_over_the_api(client_for, alice, rita, carol, charlie, client):
    for person in (alice, rita, carol, charlie):
        assert check(client_for(person), {"text": ALLOW_ALL, "examples": ALLOW_EXAMPLE}).status_code == 403
    assert check(client, {"text": ALLOW_ALL, "examples": ALLOW_EXAMPLE}).status_code in (401, 403)
