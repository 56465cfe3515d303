"""The grants list has a Scheduled tab and filters by the last day a grant gives access and by
its usage check; the services list filters by active, by resource metadata and by taking only
DPoP-bound tokens; approvals by who approved, access requests by who granted them, access
reviews by when they closed (NHIP-06, -08, -11, -17, -22 and -25 link to them).
Each narrows what the person may see; an unknown value is a 400 naming the filter."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from tokens.access_requests import access_request_approve, access_request_create
from tokens.access_reviews import access_review_close, access_review_launch
from tokens.approvals import task_approve
from tokens.models import AccessRequest, AccessReview, Grant, Service, Task
from tokens.services import grant_revoke, service_create
from tokens.usage import window_days

from .conftest import token_request

pytestmark = pytest.mark.django_db


def shown(client, url, **query) -> set:
    response = client.get(url, query)
    assert response.status_code == 200, response.content[:300]
    return {row.pk for row in response.context["page_obj"].object_list}


@pytest.fixture
def grants(sam, agent, crm, grant):
    """alice's agent's grants, by name: each on its own side of the tab and the filters."""
    now, days = timezone.now(), window_days()
    made = {
        "live": grant(agent, crm, ["tickets:read"]),
        "long": grant(agent, crm, ["tickets:write"], days=400),
        "scheduled": grant(agent, crm, ["tickets:read"], days=10),
        "revoked-long": grant(agent, crm, ["tickets:read"], days=450),
        "old-unjudged": grant(agent, crm, ["tickets:read"]),
        "old-judged": grant(agent, crm, ["tickets:read"]),
    }
    Grant.objects.filter(pk=made["scheduled"].pk).update(starts_at=now + timedelta(days=1))
    Grant.objects.filter(pk__in=[made["old-unjudged"].pk, made["old-judged"].pk]).update(starts_at=now - timedelta(days=days + 5))
    Grant.objects.filter(pk=made["old-judged"].pk).update(usage_checked_at=now - timedelta(hours=1))
    Grant.objects.filter(pk=made["live"].pk).update(usage_checked_at=now - timedelta(hours=1))
    grant_revoke(actor=sam, grant=made["revoked-long"], reason="no longer needed")
    return {name: g.pk for name, g in made.items()}


def test_grants_scheduled_to_start_later_have_their_own_tab(client_for, alice, grants):
    client = client_for(alice)
    assert shown(client, "/grants/", state="scheduled") == {grants["scheduled"]}
    assert grants["scheduled"] not in shown(client, "/grants/", state="live")
    page = client.get("/grants/", {"state": "scheduled"}).content.decode()
    assert 'aria-current="page" class="badge badge-role">Scheduled</a>' in page
    exported = client.get("/grants/export.csv", {"state": "scheduled"})
    assert len(list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))) == 1


def test_grants_filter_by_the_day_they_give_access_after_and_by_their_usage_check(client_for, alice, grants):
    client, g = client_for(alice), grants
    in_a_year = (timezone.localdate() + timedelta(days=365)).isoformat()
    # A revoked grant gives no access after its revocation, whatever end it was given.
    assert shown(client, "/grants/", state="all", runs_beyond=in_a_year) == {g["long"]}
    assert shown(client, "/grants/", state="all", runs_beyond=timezone.localdate().isoformat()) == set(g.values()) - {g["revoked-long"]}
    assert shown(client, "/grants/", state="live", usage="unchecked") == {g["long"], g["old-unjudged"]}
    assert shown(client, "/grants/", state="live", usage="unjudged") == {g["old-unjudged"]}
    page = client.get("/grants/", {"state": "live", "usage": "unjudged"}).content.decode()
    assert 'name="runs_beyond"' in page and 'name="usage"' in page and 'name="service"' in page
    assert '<input type="hidden" name="state" value="live">' in page


def test_an_outsider_finds_no_grant_behind_the_new_tab_and_filters(client_for, bob, charlie, grants):
    for person in (bob, charlie):
        assert shown(client_for(person), "/grants/", state="scheduled") == set()
        assert shown(client_for(person), "/grants/", state="all", runs_beyond=timezone.localdate().isoformat()) == set()
        assert shown(client_for(person), "/grants/", state="live", usage="unchecked") == set()


@pytest.mark.parametrize("query", [{"runs_beyond": "next year"}, {"runs_beyond": "2026-02-30"}, {"usage": "sometimes"}])
def test_a_bad_grant_filter_is_a_400_naming_it(client_for, alice, grants, query):
    response = client_for(alice).get("/grants/", {"state": "all", **query})
    assert response.status_code == 400 and set(response.context["filters"].filter.errors) == set(query)


@pytest.fixture
def services(sam):
    now, made = timezone.now(), {}
    for name, url, drift, checked in (
        ("plain", "", {}, None),
        ("in-step", "https://a.example.com/m", {}, now),
        ("drifted", "https://b.example.com/m", {"unregistered": ["x:write"]}, now),
        ("stale", "https://c.example.com/m", {}, now - timedelta(days=3)),
    ):
        service = service_create(actor=sam, name=name, audience=f"https://{name}.example.com", owner=sam, scopes=["x:read"])
        Service.objects.filter(pk=service.pk).update(metadata_url=url, metadata_drift=drift, metadata_checked_at=checked)
        made[name] = service.pk
    Service.objects.filter(pk=made["plain"]).update(is_active=False)
    return made


def test_services_filter_by_active_and_by_their_resource_metadata(client_for, charlie, services):
    client, s = client_for(charlie), services  # every signed-in person reads every service
    assert shown(client, "/services/", active="true") == {s["in-step"], s["drifted"], s["stale"]}
    assert shown(client, "/services/", active="false") == {s["plain"]}
    assert shown(client, "/services/", metadata="registered") == {s["in-step"], s["drifted"], s["stale"]}
    assert shown(client, "/services/", metadata="none") == {s["plain"]}
    assert shown(client, "/services/", metadata="differs") == {s["drifted"], s["stale"]}
    page = client.get("/services/", {"metadata": "differs"}).content.decode()
    assert 'name="active"' in page and '<option value="differs" selected>' in page and "2 services" in page


def test_services_filter_by_whether_they_take_only_bound_tokens(client_for, charlie, services):
    """NHIP-06 counts the active services that refuse a token not bound to the agent's key."""
    s = services
    Service.objects.filter(pk__in=[s["plain"], s["in-step"]]).update(requires_dpop=True)
    client = client_for(charlie)
    assert shown(client, "/services/", dpop="true") == {s["plain"], s["in-step"]}
    assert shown(client, "/services/", active="true", dpop="true") == {s["in-step"]}
    assert shown(client, "/services/", dpop="false") == {s["drifted"], s["stale"]}
    page = client.get("/services/", {"dpop": "true"}).content.decode()
    assert 'name="dpop"' in page and "Takes only bound tokens (DPoP)" in page


@pytest.mark.parametrize("query", [{"active": "maybe"}, {"metadata": "odd"}, {"dpop": "sometimes"}])
def test_a_bad_service_filter_is_a_400_naming_it(client, client_for, charlie, services, query):
    response = client_for(charlie).get("/services/", query)
    assert response.status_code == 400 and set(response.context["filters"].filter.errors) == set(query)
    assert "Some filters are not valid" in response.content.decode()
    assert client.get("/services/", query).status_code == 302  # signed out: to the sign-in page first


EXPORT = "customers:export"  # consequential on the CRM


@pytest.fixture
def decided(alice, rita, sam, oauth, make_agent, crm, grant):
    """Two approved tasks of alice's autonomous agent (one by rita, one recorded as approved by
    alice, its owner), one waiting; two granted requests (one by rita, one recorded as decided
    by alice, who asked), one waiting."""
    autonomous = make_agent(alice, autonomy="autonomous")
    grant(autonomous, crm, ["tickets:read", EXPORT])
    by_rita, by_owner, waiting = (token_request(oauth, autonomous, scope=EXPORT).json()["task_id"] for _ in range(3))
    for pk in (by_rita, by_owner):
        task_approve(actor=rita, task=Task.objects.get(pk=pk), minutes=5)
    Task.objects.filter(pk=by_owner).update(approved_by=alice)
    fair, own, pending = (
        access_request_create(actor=alice, identity=make_agent(alice).identity, service=crm, scopes=["tickets:read"],
                              ends_at=timezone.now() + timedelta(days=7), justification="Reads tickets.").pk
        for _ in range(3)
    )
    for pk in (fair, own):
        access_request_approve(actor=rita, access_request=AccessRequest.objects.get(pk=pk), reason="")
    AccessRequest.objects.filter(pk=own).update(decided_by=alice)
    return {"by-rita": by_rita, "by-owner": by_owner, "waiting": waiting, "fair": fair, "own": own, "pending": pending}


def test_approvals_filter_by_approved_and_by_an_owner_approving(client_for, carol, decided):
    client, d = client_for(carol), decided
    as_ids = lambda pks: {str(pk) for pk in pks}  # noqa: E731
    assert as_ids(shown(client, "/approvals/", state="all", approved="true")) == {d["by-rita"], d["by-owner"]}
    assert as_ids(shown(client, "/approvals/", state="all", approved="false")) == {d["waiting"]}
    assert as_ids(shown(client, "/approvals/", state="all", approved_by_owner="true")) == {d["by-owner"]}
    page = client.get("/approvals/", {"state": "all", "approved_by_owner": "true"}).content.decode()
    assert 'name="approved"' in page and 'name="approved_by_owner"' in page and 'name="service"' in page


def test_access_requests_filter_by_granted_by_the_requester_or_an_owner(client_for, carol, decided):
    client, d = client_for(carol), decided
    assert shown(client, "/access-requests/", view="all", granted_by_a_party="true") == {d["own"]}
    assert shown(client, "/access-requests/", view="all", granted_by_a_party="false") == {d["fair"], d["pending"]}
    page = client.get("/access-requests/", {"view": "all", "granted_by_a_party": "true"}).content.decode()
    assert 'name="granted_by_a_party"' in page and 'name="service"' in page


def test_an_outsider_finds_no_approval_or_request_behind_the_new_filters(client_for, bob, charlie, decided):
    for person in (bob, charlie):
        for name in ("approved", "approved_by_owner"):
            assert shown(client_for(person), "/approvals/", state="all", **{name: "true"}) == set()
        assert shown(client_for(person), "/access-requests/", view="all", granted_by_a_party="true") == set()


@pytest.mark.parametrize("url, name", [("/approvals/", "approved"), ("/approvals/", "approved_by_owner"), ("/access-requests/", "granted_by_a_party")])
def test_a_bad_approval_or_request_filter_is_a_400_naming_it(client_for, carol, decided, url, name):
    response = client_for(carol).get(url, {name: "maybe"})
    assert response.status_code == 400 and set(response.context["filters"].filter.errors) == {name}


def test_access_reviews_filter_by_the_day_they_closed_since(client_for, carol, bob, sam, agent, crm, grant):
    grant(agent, crm, ["tickets:read"])  # something to review
    due = timezone.localdate() + timedelta(days=14)
    recent, old, still_open = (access_review_launch(actor=sam, name=name, due=due, service=crm) for name in ("recent", "old", "open"))
    for review in (recent, old):
        access_review_close(actor=sam, review=review)
    AccessReview.objects.filter(pk=old.pk).update(closed_at=timezone.now() - timedelta(days=30))
    since = (timezone.localdate() - timedelta(days=7)).isoformat()
    assert shown(client_for(carol), "/access-reviews/", closed_since=since) == {recent.pk}
    assert shown(client_for(carol), "/access-reviews/") == {recent.pk, old.pk, still_open.pk}
    assert 'name="closed_since"' in client_for(carol).get("/access-reviews/").content.decode()
    # The list is for reviewers, compliance, security admins and service owners; an owner of
    # identities who owns no service is refused it, filtered or not.
    assert client_for(bob).get("/access-reviews/", {"closed_since": since}).status_code == 403
    response = client_for(carol).get("/access-reviews/", {"closed_since": "last week"})
    assert response.status_code == 400 and set(response.context["filters"].filter.errors) == {"closed_since"}
