"""The policy version pages: list, detail, new version, activation, mode, compare, replay."""

import json

import pytest
from django.urls import reverse

from nhiportal.audit.models import AuditEvent
from tokens.policy.engine import policy_decide
from tokens.policy.models import PolicyVersion
from tokens.policy.schema import default_policy_text

from .conftest import ALLOW_ALL, ALLOW_EXAMPLE, DENY_ALL, DENY_EXAMPLE, active_version, issue_request, new_version


def post_version(client, text, examples=ALLOW_EXAMPLE, **fields):
    data = {"text": text, "examples": examples if isinstance(examples, str) else json.dumps(examples), "mode": "enforce", "note": ""}
    data.update(fields)
    return client.post(reverse("policy:version-create"), data)


@pytest.mark.parametrize("name", ["version-list", "version-create", "version-diff", "simulator", "decision-list"])
def test_an_outsider_gets_403(client_for, charlie, name):
    assert client_for(charlie).get(reverse(f"policy:{name}")).status_code == 403


def test_an_outsider_cannot_see_or_change_a_version(client_for, charlie, sam):
    version = new_version(sam)
    client = client_for(charlie)
    for name in ["version-detail", "version-replay"]:
        assert client.get(reverse(f"policy:{name}", args=[version.number])).status_code == 403
    for name in ["version-activate", "version-mode"]:
        assert client.post(reverse(f"policy:{name}", args=[version.number]), {"mode": "log_only"}).status_code == 403
    version.refresh_from_db()
    assert not version.is_active and version.mode == "enforce"


def test_it_lists_versions_for_readers(client_for, sam, rita, carol):
    active_version(sam, note="first")
    new_version(sam, note="draft")
    for person in (sam, rita, carol):
        page = client_for(person).get(reverse("policy:version-list"))
        assert page.status_code == 200
        assert b"first" in page.content and b"draft" in page.content


def test_the_version_list_pages_like_every_other_list_and_still_compares_any_two(settings, client_for, sam):
    for n in range(3):
        new_version(sam, note=f"draft {n}")
    settings.NHI = {**settings.NHI, "PAGE_SIZE": 2}
    client = client_for(sam)
    first, second = (client.get(reverse("policy:version-list"), {"page": n}).content.decode() for n in (1, 2))
    assert "<td>draft 2</td>" in first and "<td>draft 1</td>" in first and "<td>draft 0</td>" not in first
    assert "<td>draft 0</td>" in second and "Page 2 of 2" in second
    assert first.count('<option value="1"') == 2  # v1 offered in both pickers of the comparison, though on page 2


def test_owners_read_only_the_active_version(client_for, alice, sam):
    active = active_version(sam, note="the rules")
    draft = new_version(sam, note="secret draft")
    client = client_for(alice)
    page = client.get(reverse("policy:version-list"))
    assert b"the rules" in page.content and b"secret draft" not in page.content
    assert client.get(reverse("policy:version-detail", args=[active.number])).status_code == 200
    assert client.get(reverse("policy:version-detail", args=[draft.number])).status_code == 404
    assert client.get(reverse("policy:version-replay", args=[draft.number])).status_code == 403
    assert client.get(reverse("policy:version-create")).status_code == 403


def test_it_says_when_the_shipped_default_applies(client_for, rita):
    page = client_for(rita).get(reverse("policy:version-list"))
    assert b"shipped default" in page.content


def test_reviewers_and_compliance_cannot_change_policies(client_for, rita, carol, sam):
    version = new_version(sam)
    for person in (rita, carol):
        client = client_for(person)
        assert client.get(reverse("policy:version-create")).status_code == 403
        assert post_version(client, ALLOW_ALL).status_code == 403
        assert client.post(reverse("policy:version-activate", args=[version.number])).status_code == 403
    assert PolicyVersion.objects.count() == 1


def test_the_new_version_form_starts_from_the_active_text(client_for, sam):
    active_version(sam, text=DENY_ALL, examples=DENY_EXAMPLE)
    page = client_for(sam).get(reverse("policy:version-create"))
    assert page.status_code == 200
    assert page.context["form"].initial["text"] == DENY_ALL
    assert json.loads(page.context["form"].initial["examples"]) == DENY_EXAMPLE


def test_the_new_version_form_starts_from_the_shipped_default_on_a_fresh_database(client_for, sam):
    page = client_for(sam).get(reverse("policy:version-create"))
    assert page.context["form"].initial["text"] == default_policy_text()


def test_a_security_admin_saves_a_version(client_for, sam):
    response = post_version(client_for(sam), ALLOW_ALL, note="allow it all")
    version = PolicyVersion.objects.get()
    assert response.status_code == 302 and response.url == reverse("policy:version-detail", args=[version.number])
    assert version.note == "allow it all" and not version.is_active
    assert AuditEvent.objects.filter(action="policy.version_create").count() == 1


def test_it_shows_a_syntax_error_at_its_line_and_saves_nothing(client_for, sam):
    text = '@id("a")\npermit (principal, action, resource)\nwhen {\n  principal.status ==\n};\n'
    response = post_version(client_for(sam), text)
    assert response.status_code == 400
    assert response.context["form"].errors["text"] == ["Line 5: unexpected token `}`"]
    assert [line["number"] for line in response.context["lines"] if line["problems"]] == [5]
    assert b'id="line-5"' in response.content
    assert not PolicyVersion.objects.exists()


def test_it_shows_a_schema_error_at_its_line(client_for, sam):
    text = '@id("a")\npermit (principal, action, resource)\nwhen {\n  resource.colour == "red"\n};\n'
    response = post_version(client_for(sam), text)
    assert response.status_code == 400
    assert response.context["form"].errors["text"][0].startswith("Line 4:")
    assert not PolicyVersion.objects.exists()


def test_it_shows_malformed_examples_next_to_their_field(client_for, sam):
    response = post_version(client_for(sam), ALLOW_ALL, examples='[{"name": "a"')
    assert response.status_code == 400
    assert response.context["form"].errors["examples"][0].startswith("Not valid JSON")
    assert not PolicyVersion.objects.exists()


def test_the_version_page_shows_each_example_result(client_for, sam):
    version = new_version(sam, DENY_ALL, [*DENY_EXAMPLE, {"name": "hopes for allow", "expect": "allow"}])
    page = client_for(sam).get(reverse("policy:version-detail", args=[version.number]))
    assert page.status_code == 200
    assert [(r.name, r.passed) for r in page.context["results"]] == [("nothing goes", True), ("hopes for allow", False)]
    assert b"forbid-everything" in page.content


def test_a_security_admin_activates_a_version_whose_examples_pass(client_for, sam):
    version = new_version(sam)
    response = client_for(sam).post(reverse("policy:version-activate", args=[version.number]))
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.is_active


def test_it_refuses_to_activate_a_version_with_failing_examples(client_for, sam):
    version = new_version(sam, DENY_ALL, ALLOW_EXAMPLE)
    response = client_for(sam).post(reverse("policy:version-activate", args=[version.number]), follow=True)
    assert b"do not pass" in response.content
    version.refresh_from_db()
    assert not version.is_active


def test_a_deny_everything_version_is_activated_only_from_the_confirmation_page_ticked_and_with_a_reason(client_for, sam, agent, crm):
    policy_decide(issue_request(agent, crm))
    version = new_version(sam, DENY_ALL, DENY_EXAMPLE)
    client = client_for(sam)
    activate = reverse("policy:version-activate", args=[version.number])
    page = client.get(reverse("policy:version-detail", args=[version.number]))
    assert b"would deny every one" in page.content and f'href="{activate}"'.encode() in page.content
    assert client.post(activate).url == activate  # the version page's button leads to the confirmation
    confirmation = client.get(activate)
    assert b"would deny every one" in confirmation.content and b'name="confirm_deny_all"' in confirmation.content
    unticked = client.post(activate, {"confirmed": "True", "reason": "Freeze all agents during the incident"})
    assert unticked.status_code == 400 and unticked.context["form"].errors["confirm_deny_all"]
    version.refresh_from_db()
    assert not version.is_active
    client.post(activate, {"confirmed": "True", "confirm_deny_all": "on", "reason": "Freeze all agents during the incident"})
    version.refresh_from_db()
    assert version.is_active
    event = AuditEvent.objects.get(action="policy.activate")
    assert event.reason == "Freeze all agents during the incident" and event.after["confirmed_deny_all"] is True


def test_a_security_admin_switches_the_mode(client_for, sam):
    version = active_version(sam)
    client_for(sam).post(reverse("policy:version-mode", args=[version.number]), {"mode": "log_only"})
    version.refresh_from_db()
    assert version.mode == "log_only"
    assert AuditEvent.objects.filter(action="policy.mode_set").count() == 1


def test_it_compares_two_versions(client_for, sam, rita):
    old = new_version(sam, ALLOW_ALL)
    new = new_version(sam, ALLOW_ALL + DENY_ALL, DENY_EXAMPLE)
    page = client_for(rita).get(reverse("policy:version-diff"), {"old": old.number, "new": new.number})
    assert page.status_code == 200
    added = [row.text for row in page.context["rows"] if row.kind == "added"]
    assert 'forbid (principal, action, resource);' in added
    assert b"diff-added" in page.content


def _chosen(page, name):
    form = page.context["compare"] if "compare" in page.context else page.context["form"]
    return form[name].value()


def test_the_comparison_starts_from_the_active_version_to_the_newest(client_for, sam):
    first = new_version(sam, note="first")
    active = active_version(sam, note="the rules")
    newest = new_version(sam, note="draft")
    client = client_for(sam)
    for page in (client.get(reverse("policy:version-list")), client.get(reverse("policy:version-diff"))):
        assert (_chosen(page, "old"), _chosen(page, "new")) == (active.number, newest.number)
        assert f'<option value="{active.number}" selected>' in page.content.decode()
    assert first.number not in (_chosen(page, "old"), _chosen(page, "new"))


def test_with_the_newest_version_active_the_comparison_starts_from_the_one_before(client_for, sam):
    before = new_version(sam, note="draft")
    active = active_version(sam, note="the rules")
    page = client_for(sam).get(reverse("policy:version-list"))
    assert (_chosen(page, "old"), _chosen(page, "new")) == (before.number, active.number)


def test_owners_cannot_compare_versions(client_for, alice):
    assert client_for(alice).get(reverse("policy:version-diff")).status_code == 403


def test_it_replays_recent_decisions_against_a_draft(client_for, sam, agent, crm):
    allowed = policy_decide(issue_request(agent, crm))
    draft = new_version(sam, DENY_ALL, DENY_EXAMPLE)
    page = client_for(sam).get(reverse("policy:version-replay", args=[draft.number]), {"limit": "50"})
    assert page.status_code == 200
    assert [c.decision.pk for c in page.context["report"].changes] == [allowed.decision_id]
    assert agent.name.encode() in page.content and b"forbid-everything" in page.content


def test_an_unknown_version_is_404(client_for, sam):
    assert client_for(sam).get(reverse("policy:version-detail", args=[99])).status_code == 404
