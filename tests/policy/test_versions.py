"""Saving, activating and switching the mode of policy versions: checked, kept, audited."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from nhiportal.audit.models import AuditEvent
from tokens.policy.engine import policy_decide
from tokens.policy.models import PolicyVersion
from tokens.policy.schema import default_policy_text
from tokens.policy.services import ActivationRefused, policy_version_activate, policy_version_mode_set

from .conftest import ALLOW_ALL, DENY_ALL, DENY_EXAMPLE, active_version, issue_request, new_version


def test_it_saves_a_valid_version_inactive_with_the_next_number(sam):
    first = new_version(sam, note="  first  ")
    second = new_version(sam)
    assert (first.number, second.number) == (1, 2)
    assert not first.is_active and first.note == "first" and first.created_by == sam
    event = AuditEvent.objects.get(action="policy.version_create", object_id=str(first.pk))
    assert event.actor == sam and event.after["number"] == 1 and event.after["examples"] == 1


def test_it_never_saves_text_that_does_not_parse(sam):
    with pytest.raises(ValidationError) as error:
        new_version(sam, text='@id("a")\npermit (principal, action, resource)\nwhen { };\n')
    assert error.value.message_dict["text"][0].startswith("Line 3:")
    assert not PolicyVersion.objects.exists()
    assert not AuditEvent.objects.filter(action="policy.version_create").exists()


def test_it_never_saves_text_that_does_not_validate(sam):
    with pytest.raises(ValidationError) as error:
        new_version(sam, text='@id("a")\npermit (principal, action, resource)\nwhen { principal.colour == "red" };\n')
    assert "colour" in error.value.message_dict["text"][0]
    assert not PolicyVersion.objects.exists()


def test_it_refuses_malformed_examples(sam):
    with pytest.raises(ValidationError) as error:
        new_version(sam, examples='[{"name": "x", "expect": "allow"')
    assert error.value.message_dict["examples"][0].startswith("Not valid JSON")


def test_it_activates_exactly_one_version(sam):
    first = active_version(sam)
    second = active_version(sam, DENY_ALL, DENY_EXAMPLE)
    first.refresh_from_db()
    assert not first.is_active and second.is_active and second.activated_at
    assert PolicyVersion.objects.filter(is_active=True).count() == 1
    event = AuditEvent.objects.filter(action="policy.activate").first()
    assert event.before == {"active_version": 1} and event.after["active_version"] == 2


def test_it_activates_only_when_all_examples_pass(sam):
    version = new_version(sam, DENY_ALL, [{"name": "wrongly expects allow", "expect": "allow"}])
    with pytest.raises(ActivationRefused) as error:
        policy_version_activate(actor=sam, version=version)
    assert "wrongly expects allow" in error.value.message
    version.refresh_from_db()
    assert not version.is_active
    assert not AuditEvent.objects.filter(action="policy.activate").exists()


def test_it_needs_at_least_one_example_to_activate(sam):
    version = new_version(sam, examples=[])
    with pytest.raises(ActivationRefused):
        policy_version_activate(actor=sam, version=version)


def test_it_checks_expected_deciding_policies(sam):
    examples = [{"name": "names the wrong policy", "expect": "deny", "expect_policies": ["forbid-other"]}]
    version = new_version(sam, DENY_ALL, examples)
    with pytest.raises(ActivationRefused):
        policy_version_activate(actor=sam, version=version)


def test_it_warns_before_activating_a_version_that_denies_every_recent_request(sam, agent, crm):
    policy_decide(issue_request(agent, crm))
    policy_decide(issue_request(agent, crm))
    version = new_version(sam, DENY_ALL, DENY_EXAMPLE)
    with pytest.raises(ActivationRefused) as error:
        policy_version_activate(actor=sam, version=version)
    assert error.value.needs_confirmation and error.value.report.replayed == 2
    policy_version_activate(actor=sam, version=version, confirm_deny_all=True)
    version.refresh_from_db()
    assert version.is_active
    assert AuditEvent.objects.get(action="policy.activate").after["confirmed_deny_all"] is True


def test_it_does_not_warn_without_recent_requests(sam):
    version = active_version(sam, DENY_ALL, DENY_EXAMPLE)
    assert version.is_active


def test_it_refuses_to_activate_the_active_version_again(sam):
    version = active_version(sam)
    with pytest.raises(ActivationRefused):
        policy_version_activate(actor=sam, version=version)


def test_it_switches_modes_with_one_audit_event(sam):
    version = new_version(sam)
    policy_version_mode_set(actor=sam, version=version, mode="log_only")
    policy_version_mode_set(actor=sam, version=version, mode="log_only")
    version.refresh_from_db()
    assert version.mode == "log_only"
    event = AuditEvent.objects.get(action="policy.mode_set")
    assert event.before == {"mode": "enforce"} and event.after == {"mode": "log_only"}


def test_it_refuses_unknown_modes(sam):
    with pytest.raises(ValidationError):
        policy_version_mode_set(actor=sam, version=new_version(sam), mode="sometimes")


def test_it_seeds_version_one_from_the_shipped_default(db):
    call_command("policy_seed", verbosity=0)
    call_command("policy_seed", verbosity=0)
    version = PolicyVersion.objects.get()
    assert version.number == 1 and version.is_active and version.text == default_policy_text()
    assert len(version.examples) >= 10
    assert AuditEvent.objects.filter(action__in=["policy.version_create", "policy.activate"]).count() == 2


def test_a_new_version_text_starts_from_any_earlier_one(sam):
    base = new_version(sam, ALLOW_ALL)
    derived = new_version(sam, base.text + "\n" + DENY_ALL, DENY_EXAMPLE)
    assert derived.text.startswith(base.text)
