"""Whether a version was ever live, and when: each version's active periods, read from its
activations in the audit log, on the version list and the version page."""

from django.urls import reverse
from django.utils import dateformat, timezone

from nhiportal.audit.models import AuditEvent
from tokens.policy.models import PolicyVersion
from tokens.policy.selectors import activation_history
from tokens.policy.services import policy_version_activate

from .conftest import active_version, new_version


def minute(moment) -> str:
    return dateformat.format(timezone.localtime(moment), "Y-m-d H:i")


def rolled_back(sam):
    """v1 active, v2 saved and never activated, v3 activated and then rolled back to v1."""
    first = active_version(sam, note="first")
    never = new_version(sam, note="never")
    brief = new_version(sam, note="brief")
    policy_version_activate(actor=sam, version=brief)
    policy_version_activate(actor=sam, version=first, reason="Roll back: v3 refused the billing agents")
    at = list(AuditEvent.objects.filter(action="policy.activate").order_by("id").values_list("at", flat=True))
    return first, never, brief, at


def test_each_version_has_the_periods_it_was_active_and_none_if_it_never_was(sam):
    first, never, brief, (v1_from, v3_from, v1_again) = rolled_back(sam)

    history = activation_history(PolicyVersion.objects.all())

    assert [(p.start, p.end) for p in history[first.number]] == [(v1_from, v3_from), (v1_again, None)]
    assert history[never.number] == []
    assert [(p.start, p.end) for p in history[brief.number]] == [(v3_from, v1_again)]
    assert history[first.number][1].reason == "Roll back: v3 refused the billing agents" and history[first.number][1].by == "sam"


def test_the_list_tells_a_version_once_active_from_one_never_active(client_for, rita, sam):
    first, never, brief, (v1_from, v3_from, v1_again) = rolled_back(sam)

    page = client_for(rita).get(reverse("policy:version-list"))

    assert page.status_code == 200
    rows = {v.number: v for v in page.context["versions"]}
    assert len(rows[first.number].periods) == 2 and rows[never.number].periods == []
    html = page.content.decode()
    assert "Inactive" not in html
    assert html.count('badge badge-active">Active<') == 1 and "Was active" in html and "Never active" in html
    assert f"{minute(v3_from)} → {minute(v1_again)}" in html  # v3's one period
    assert f"{minute(v1_again)} → now" in html


def test_the_version_page_shows_its_activation_history_with_who_and_why(client_for, sam):
    first, never, brief, (v1_from, v3_from, v1_again) = rolled_back(sam)
    client = client_for(sam)

    active = client.get(reverse("policy:version-detail", args=[first.number])).content.decode()
    once = client.get(reverse("policy:version-detail", args=[brief.number])).content.decode()
    unused = client.get(reverse("policy:version-detail", args=[never.number])).content.decode()

    assert 'aria-label="Activation history"' in active and "Roll back: v3 refused the billing agents" in active
    assert active.count("<td>sam</td>") == 2 and "so far" in active
    assert "Was active" in once and dateformat.format(timezone.localtime(v1_again), "Y-m-d H:i:s") in once
    assert "Never active" in unused and "Was active" not in unused


def test_a_version_made_active_outside_the_audit_log_still_shows_since_when(sam):
    version = new_version(sam)
    moment = timezone.now()
    PolicyVersion.objects.filter(pk=version.pk).update(is_active=True, activated_at=moment)

    [period] = activation_history([PolicyVersion.objects.get(pk=version.pk)])[version.number]

    assert (period.start, period.end, period.recorded) == (moment, None, False)
