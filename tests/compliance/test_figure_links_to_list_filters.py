"""Figures of NHIP-03, -07, -08, -09, -11, -17, -20, -22, -24 and -25 link to lists under the filter they
count by (a tab, or a filter beside the list's others): with rows seeded on both sides of each
filter, every figure is the rows behind its link for the compliance officer, and a person who
sees less finds no more behind the link than the list already shows them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import AIIdentity, Status
from inventory.services import identity_offboard, identity_suspend
from nhiportal.people.models import DirectoryEntry, SingleSignOnLink
from nhiportal.people.services import person_deactivate
from tests.conftest import _person
from tokens.access_requests import access_request_approve, access_request_create
from tokens.access_reviews import access_review_close, access_review_decide, access_review_launch
from tokens.approvals import task_approve
from tokens.models import AccessRequest, AccessReview, Grant, IssuedToken, Service, Task, TokenPace, WorkloadCredential
from tokens.policy.models import PolicyDecision
from tokens.services import grant_revoke, service_create
from tokens.usage import window_days

from ..tokens.conftest import token_request
from .conftest import check
from .test_figure_links import assert_linked_figures_count_their_rows, rows_behind

pytestmark = pytest.mark.django_db


def test_the_decision_figures_link_to_the_decision_log_since_the_instant_they_count_from(
    client_for, carol, bob, charlie, agent, get_token,
):
    """NHIP-07: decisions of the last 24 h, allowed, denied and evaluation errors; one two days
    old is in none, a denial without an error is not an evaluation error."""
    for _ in range(4):
        get_token(agent)
    old, errored, denied, _allowed = PolicyDecision.objects.order_by("pk")
    PolicyDecision.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=2))
    PolicyDecision.objects.filter(pk=errored.pk).update(decision="deny", enforced="deny", errors=["policy evaluation failed"])
    PolicyDecision.objects.filter(pk=denied.pk).update(decision="deny", enforced="deny")
    result = check("policy-at-issuance")
    names = ["decisions, last 24 h", "allowed", "denied", "evaluation errors (denied)"]
    assert [result.figures[n] for n in names] == [3, 1, 2, 1]
    assert_linked_figures_count_their_rows(client_for(carol), result, names)
    # An owner of none of them reads the log and finds none; a person with no role is refused it.
    for name in names:
        assert rows_behind(client_for(bob), result.links[name]) == 0
        assert client_for(charlie).get(result.links[name]).status_code == 403


def test_scheduled_grants_and_grants_running_beyond_a_year_link_to_the_grants_they_count(
    client_for, carol, alice, bob, sam, agent, crm, grant,
):
    """NHIP-08: a grant that starts tomorrow is scheduled, not live; one that gives access more
    than 365 days ahead counts live or scheduled, but not once revoked."""
    live = grant(agent, crm, ["tickets:read"])
    long_live = grant(agent, crm, ["tickets:write"], days=400)
    scheduled = grant(agent, crm, ["tickets:read"], days=10)
    long_scheduled = grant(agent, crm, ["tickets:write"], days=500)
    revoked = grant(agent, crm, ["tickets:read"], days=450)
    ended = grant(agent, crm, ["tickets:read"])
    tomorrow = timezone.now() + timedelta(days=1)
    Grant.objects.filter(pk__in=[scheduled.pk, long_scheduled.pk]).update(starts_at=tomorrow)
    Grant.objects.filter(pk=ended.pk).update(starts_at=timezone.now() - timedelta(days=9), ends_at=timezone.now() - timedelta(days=1))
    grant_revoke(actor=sam, grant=revoked, reason="no longer needed")
    result = check("least-privilege")
    names = ["live grants", "scheduled to start later", "ending beyond 365 days"]
    assert [result.figures[n] for n in names] == [2, 2, 2]
    client = client_for(carol)
    assert_linked_figures_count_their_rows(client, result, names)
    shown = {g.pk for g in client.get(result.links["ending beyond 365 days"]).context["page_obj"].object_list}
    assert shown == {long_live.pk, long_scheduled.pk} and live.pk not in shown
    assert rows_behind(client_for(alice), result.links["scheduled to start later"]) == 2
    for name in names:
        assert rows_behind(client_for(bob), result.links[name]) == 0


def test_grants_not_checked_or_never_judged_for_use_link_to_the_grants_they_count(client_for, carol, bob, agent, crm, grant):
    """NHIP-17: a live grant no grant_usage run has looked at is not checked yet; one older than
    the window that no run judged after its first whole window is never judged. A young
    unchecked grant is not overdue for judging; an old one checked in time is judged."""
    days, now = window_days(), timezone.now()
    young_unchecked, old_unchecked, old_checked_early, old_judged = (grant(agent, crm, ["tickets:read"]) for _ in range(4))
    old = now - timedelta(days=days + 5)
    Grant.objects.filter(pk__in=[old_unchecked.pk, old_checked_early.pk, old_judged.pk]).update(starts_at=old)
    Grant.objects.filter(pk=old_checked_early.pk).update(usage_checked_at=old + timedelta(days=1))
    Grant.objects.filter(pk=old_judged.pk).update(usage_checked_at=now - timedelta(hours=1))
    result = check("unused-access")
    unchecked, unjudged = "not checked yet (grant_usage runs hourly)", f"older than {days} days, never judged (is grant_usage running?)"
    assert (result.figures[unchecked], result.figures[unjudged]) == (2, 2)
    assert young_unchecked.pk in {g.pk for g in client_for(carol).get(result.links[unchecked]).context["page_obj"].object_list}
    assert_linked_figures_count_their_rows(client_for(carol), result, [unchecked, unjudged, "live grants"])
    for name in (unchecked, unjudged):
        assert rows_behind(client_for(bob), result.links[name]) == 0


def test_service_metadata_figures_link_to_the_services_they_count(client, client_for, carol, charlie, sam):
    """NHIP-25: active services; those registered with their metadata; of those, the ones whose
    last check found a difference or an error, or that no check read in two days. An inactive
    service that differs is in none; one checked an hour ago and in step differs in nothing."""
    now = timezone.now()
    for name, url, drift, checked in (
        ("plain", "", {}, None),
        ("in-step", "https://a.example.com/.well-known/oauth-protected-resource", {}, now - timedelta(hours=1)),
        ("drifted", "https://b.example.com/.well-known/oauth-protected-resource", {"withdrawn": ["x:read"]}, now - timedelta(hours=1)),
        ("unreadable", "https://c.example.com/.well-known/oauth-protected-resource", {"error": "timed out"}, now - timedelta(hours=1)),
        ("never-checked", "https://d.example.com/.well-known/oauth-protected-resource", {}, None),
        ("stale", "https://e.example.com/.well-known/oauth-protected-resource", {}, now - timedelta(days=3)),
        ("retired", "https://f.example.com/.well-known/oauth-protected-resource", {"withdrawn": ["y:read"]}, now - timedelta(hours=1)),
    ):
        service = service_create(actor=sam, name=name, audience=f"https://{name}.example.com", owner=sam, scopes=["x:read"])
        Service.objects.filter(pk=service.pk).update(metadata_url=url, metadata_drift=drift, metadata_checked_at=checked)
    Service.objects.filter(name="retired").update(is_active=False)
    result = check("tool-servers-in-step")
    names = ["active services", "registered with their metadata", "differing or unchecked"]
    assert [result.figures[n] for n in names] == [6, 5, 4]
    assert result.findings_total == 4
    assert_linked_figures_count_their_rows(client_for(carol), result, names)
    # Services are every signed-in person's to read: the filter shows charlie what the list does.
    assert rows_behind(client_for(charlie), result.links["differing or unchecked"]) == 4
    assert client.get(result.links["differing or unchecked"]).status_code == 302  # signed out: to the sign-in page


def test_rate_limit_figures_link_to_the_identities_they_count(client_for, settings, carol, alice, bob, make_agent):
    """NHIP-24: with no portal default, an identity with its own limit is limited and one
    without is not; one refused for its limit two days ago counts, one refused ten days ago
    does not. With a default, every active identity is limited."""
    settings.NHI = {**settings.NHI, "TOKEN_RATE_PER_MINUTE": 0}
    limited = make_agent(alice, token_rate_per_minute=60).identity
    unlimited = make_agent(alice).identity
    make_agent(alice, token_rate_per_minute=10)
    now = timezone.now()
    TokenPace.objects.create(identity=limited, next_at=now.timestamp(), slowed_at=now - timedelta(days=2))
    TokenPace.objects.create(identity=unlimited, next_at=now.timestamp(), slowed_at=now - timedelta(days=10))
    result = check("token-rates-limited")
    names = ["active", "with a token rate limit", "refused for their limit in 7 days"]
    assert [result.figures[n] for n in names] == [3, 2, 1]
    assert_linked_figures_count_their_rows(client_for(carol), result, names)
    for name in names:
        assert rows_behind(client_for(bob), result.links[name]) == 0
    settings.NHI = {**settings.NHI, "TOKEN_RATE_PER_MINUTE": 600}
    result = check("token-rates-limited")
    assert result.figures["with a token rate limit"] == 3
    assert_linked_figures_count_their_rows(client_for(carol), result, names)
    assert rows_behind(client_for(carol), "/identities/?status=active&rate_limited=false") == 0


EXPORT = "customers:export"  # consequential on the CRM


def test_self_approved_tasks_and_self_granted_requests_link_to_what_they_count(
    client_for, carol, alice, bob, rita, sam, oauth, make_agent, crm, grant,
):
    """NHIP-11: tasks a person approved, and those an owner of the identity approved; access
    requests granted, and those granted by who asked or an owner. A task waiting for approval,
    and a request still waiting, are in none."""
    autonomous = make_agent(alice, autonomy="autonomous")
    grant(autonomous, crm, ["tickets:read", EXPORT])
    asked = [token_request(oauth, autonomous, scope=EXPORT).json()["task_id"] for _ in range(3)]
    by_rita, by_owner, _waiting = (Task.objects.get(pk=pk) for pk in asked)
    task_approve(actor=rita, task=by_rita, minutes=5)
    task_approve(actor=rita, task=by_owner, minutes=5)
    # Approved by an owner: what the control exists to catch (data from before the rule, say).
    Task.objects.filter(pk=by_owner.pk).update(approved_by=alice)
    agents = [make_agent(alice).identity for _ in range(3)]
    fair, own, _pending = (
        access_request_create(actor=alice, identity=i, service=crm, scopes=["tickets:read"], ends_at=timezone.now() + timedelta(days=7),
                              justification="Reads tickets.")
        for i in agents
    )
    access_request_approve(actor=rita, access_request=fair, reason="")
    access_request_approve(actor=sam, access_request=own, reason="")
    AccessRequest.objects.filter(pk=own.pk).update(decided_by=alice)  # granted by who asked
    result = check("separation-of-duties")
    names = ["approved tasks", "approved by an owner", "granted access requests", "granted by the requester or an owner"]
    assert [result.figures[n] for n in names] == [2, 1, 2, 1]
    assert_linked_figures_count_their_rows(client_for(carol), result, names)
    for name in names:
        assert rows_behind(client_for(bob), result.links[name]) == 0


def test_identities_asked_to_attest_and_without_a_due_date_link_to_the_identities_they_count(
    client_for, carol, alice, bob, sam, make_agent, make_identity,
):
    """NHIP-03: active or suspended identities are asked to attest; those among them with no
    due date are never asked. A registered identity (no due date yet) is in neither."""
    dated, undated, suspended = (make_agent(alice).identity for _ in range(3))
    make_identity(alice)  # registered: not asked yet
    identity_suspend(actor=sam, identity=suspended, reason="paused")
    AIIdentity.objects.filter(pk__in=[undated.pk, suspended.pk]).update(attestation_due=None)
    result = check("attested")
    assert (result.figures["attested identities"], result.figures["no due date"]) == (3, 2)
    assert dated.status == Status.ACTIVE
    assert_linked_figures_count_their_rows(client_for(carol), result, ["attested identities", "no due date", "overdue"])
    for name in ("attested identities", "no due date"):
        assert rows_behind(client_for(bob), result.links[name]) == 0


def test_identities_no_directory_kept_owner_answers_for_link_to_the_identities_they_count(
    client_for, carol, alice, bob, make_identity,
):
    """NHIP-20: an identity in service whose active owners the directory does not keep; one
    with an owner linked through single sign-on, or provisioned over SCIM, is kept; an
    offboarded or orphaned one is another control's."""
    dora, eve = _person("dora", "owner"), _person("eve", "owner")
    SingleSignOnLink.objects.create(user=dora, issuer="https://idp.example.com", subject="dora")
    DirectoryEntry.objects.create(user=eve, external_id="eve-1")
    make_identity(alice, name="alice-only")
    make_identity(alice, name="alice-only-too")
    make_identity(dora, name="dora-kept")
    make_identity(alice, backups=[eve], name="eve-backs-it")
    result = check("owners-in-directory")
    assert result.figures["identities no such owner answers for"] == 2
    assert_linked_figures_count_their_rows(client_for(carol), result, ["identities no such owner answers for"])
    assert rows_behind(client_for(alice), result.links["identities no such owner answers for"]) == 2
    assert rows_behind(client_for(bob), result.links["identities no such owner answers for"]) == 0


def test_closed_reviews_and_identities_with_unreviewed_old_access_link_to_what_they_count(
    client_for, carol, alice, bob, rita, sam, make_agent, crm, grant,
):
    """NHIP-22: reviews closed since the day a year ago (one closed before is not), and
    identities holding a live grant over a year old that no review kept in the year; a grant
    kept last month, and a young one, leave their identity out."""
    old_unkept, old_kept, young = (make_agent(alice).identity for _ in range(3))
    for identity in (old_unkept, old_kept, young):
        grant(identity, crm, ["tickets:read"], days=60)
    Grant.objects.filter(identity__in=[old_unkept, old_kept]).update(created_at=timezone.now() - timedelta(days=400))
    due = timezone.localdate() + timedelta(days=14)
    recent, long_ago = (access_review_launch(actor=sam, name=name, due=due, service=crm) for name in ("this year", "last year"))
    access_review_decide(actor=rita, item=recent.items.get(grant__identity=old_kept), decision="keep")
    for review in (recent, long_ago):
        access_review_close(actor=sam, review=review)
    AccessReview.objects.filter(pk=long_ago.pk).update(closed_at=timezone.now() - timedelta(days=400))
    result = check("access-reviewed")
    names = ["reviews closed in the year", "identities with unreviewed old access"]
    assert [result.figures[n] for n in names] == [1, 1]
    assert_linked_figures_count_their_rows(client_for(carol), result, names)
    assert rows_behind(client_for(alice), result.links["identities with unreviewed old access"]) == 1
    assert rows_behind(client_for(bob), result.links["identities with unreviewed old access"]) == 0
    # Access reviews are for reviewers, compliance, security admins and service owners.
    assert client_for(bob).get(result.links["reviews closed in the year"]).status_code == 403


def test_active_owners_and_those_the_directory_keeps_link_to_the_people_they_count(
    client_for, carol, alice, bob, sam, make_identity,
):
    """NHIP-20: active people who own an identity in service, and those of them linked through
    single sign-on or provisioned over SCIM (not deleted there). One who owned only what was
    offboarded, a leaver, and a directory person who owns nothing are in neither figure."""
    dora, eve, gus, lee, ida = (_person(name, "owner") for name in ("dora", "eve", "gus", "lee", "ida"))
    SingleSignOnLink.objects.create(user=dora, issuer="https://idp.example.com", subject="dora")
    DirectoryEntry.objects.create(user=eve, external_id="eve-1")
    DirectoryEntry.objects.create(user=ida, external_id="ida-1")  # owns nothing
    make_identity(alice, name="alice-only")
    make_identity(dora, name="dora-kept")
    make_identity(alice, backups=[eve], name="eve-backs-it")
    identity_offboard(actor=sam, identity=make_identity(gus, name="gone"), reason="retired")
    make_identity(lee, backups=[alice], name="lee-left")
    person_deactivate(actor=sam, person=lee, reason="left")
    result = check("owners-in-directory")
    names = ["active owners", "kept by the directory", "identities no such owner answers for"]
    assert [result.figures[n] for n in names] == [3, 2, 2]
    assert_linked_figures_count_their_rows(client_for(carol), result, names)
    # The people list is for those who read the whole inventory: an owner is refused it.
    for name in ("active owners", "kept by the directory"):
        assert client_for(bob).get(result.links[name]).status_code == 403


def test_access_that_outlived_its_end_links_to_the_tokens_and_identities_it_counts(
    client_for, carol, alice, bob, sam, make_agent, get_token, crm, grant,
):
    """NHIP-09: live tokens whose task ended, whose identity is suspended or offboarded, or whose
    credential was disabled, without the revocation that should have come with it (data from
    before the rule, say); and offboarded identities still holding a grant or a credential. A
    token revoked in time, and an identity offboarded cleanly, are in none."""
    agents = {name: make_agent(alice, name=name) for name in ("ended", "paused", "keyless", "fine", "cleanly-gone", "left-a-grant")}
    for name in ("ended", "paused", "keyless", "fine"):
        get_token(agents[name])
    Task.objects.filter(pk=IssuedToken.objects.get(identity=agents["ended"].identity).task_id).update(ended_at=timezone.now())
    AIIdentity.objects.filter(pk=agents["paused"].identity.pk).update(status=Status.SUSPENDED)
    WorkloadCredential.objects.filter(identity=agents["keyless"].identity).update(enabled=False)
    grant(agents["left-a-grant"], crm, ["tickets:read"])
    for name in ("cleanly-gone", "left-a-grant"):
        identity_offboard(actor=sam, identity=agents[name].identity, reason="retired")
    Grant.objects.filter(identity=agents["left-a-grant"].identity).update(revoked_at=None)
    result = check("ending-access")
    names = ["live tokens", "live after their task ended", "live for suspended or offboarded identities",
             "live after their credential was disabled", "offboarded still holding access"]
    assert [result.figures[n] for n in names] == [4, 1, 1, 1, 1]
    assert_linked_figures_count_their_rows(client_for(carol), result, names)
    assert rows_behind(client_for(alice), result.links["offboarded still holding access"]) == 1
    for name in names:
        assert rows_behind(client_for(bob), result.links[name]) == 0
