"""Access reviews: the people who answer for services keep or revoke each live grant; nobody
reviews an identity they own; closing records what was missed and may revoke it."""

from datetime import timedelta

import jwt
import pytest
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from nhiportal.audit.services import system_actor
from nhiportal.people.roles import OWNER
from nhiportal.people.services import role_assign
from tokens.models import AccessReview, AccessReviewItem, Grant, IssuedToken
from tokens.services import service_create

pytestmark = pytest.mark.django_db
LIST = "/access-reviews/"
DUE = (timezone.localdate() + timedelta(days=14)).isoformat()


def launch(client, **data):
    return client.post(f"{LIST}new/", {"name": "Q4 CRM access", "due": DUE, **data})


def test_a_reviewer_launches_a_round_and_decides_each_grant(client_for, rita, make_agent, bob, crm, grant, get_token):
    kept_agent, gone_agent = make_agent(bob, name="kept-agent"), make_agent(bob, name="gone-agent")
    grant(kept_agent, crm, ["tickets:read"])
    gone = grant(gone_agent, crm, ["tickets:read", "tickets:write"])
    token = get_token(gone_agent)["access_token"]
    client = client_for(rita)
    response = launch(client, service=crm.pk)
    review = AccessReview.objects.get()
    assert response.status_code == 302 and review.items.count() == 2
    page = client.get(f"{LIST}{review.pk}/").content.decode()
    assert "kept-agent" in page and "gone-agent" in page and "0 kept, 0 revoked, 2 waiting" in page
    keep_item = review.items.get(grant__identity=kept_agent.identity)
    gone_item = review.items.get(grant=gone)
    assert client.post(f"{LIST}{review.pk}/items/{keep_item.pk}/decide/", {"decision": "keep"}).status_code == 302
    # Revoking needs a reason, and ends the grant and its live tokens at once.
    client.post(f"{LIST}{review.pk}/items/{gone_item.pk}/decide/", {"decision": "revoke"})
    assert Grant.objects.get(pk=gone.pk).revoked_at is None
    client.post(f"{LIST}{review.pk}/items/{gone_item.pk}/decide/", {"decision": "revoke", "reason": "project ended"})
    gone.refresh_from_db()
    assert gone.revoked_at and "project ended" in gone.revoke_reason
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    assert IssuedToken.objects.get(jti=jti).revoked_at is not None
    # Decisions are final.
    client.post(f"{LIST}{review.pk}/items/{keep_item.pk}/decide/", {"decision": "revoke", "reason": "changed my mind"})
    assert AccessReviewItem.objects.get(pk=keep_item.pk).decision == "keep"
    actions = list(AuditEvent.objects.filter(action__startswith="access_review.").order_by("id").values_list("action", flat=True))
    assert actions == ["access_review.launch", "access_review.decide", "access_review.decide"]
    csv = b"".join(client.get(f"{LIST}{review.pk}/export.csv").streaming_content).decode().splitlines()
    assert csv[0].startswith("identity,client_id,service") and any("gone-agent" in row and "revoke" in row and "project ended" in row for row in csv)


def test_nobody_reviews_an_identity_they_own_and_a_service_owner_sees_only_their_grants(client_for, sam, rita, alice, bob, make_agent, crm, grant):
    from nhiportal.people.services import role_assign
    from nhiportal.audit.services import system_actor

    wiki = service_create(actor=sam, name="Wiki", audience="https://wiki.example.com", owner=bob, trust_boundary="corp-internal",
                          scopes=[{"name": "pages:read", "description": "Read pages"}])
    role_assign(user=rita, role=OWNER, actor=system_actor("tests"))  # a reviewer who also owns an agent (only owners are made owners)
    rita_owns = make_agent(rita, name="rita-agent")
    on_wiki = make_agent(alice, name="wiki-agent")
    grant(rita_owns, crm, ["tickets:read"])
    grant(on_wiki, wiki, ["pages:read"])
    role_assign(user=rita, role="owner", actor=system_actor("tests"))
    launch(client_for(sam))
    review = AccessReview.objects.get()
    own_item = review.items.get(grant__identity=rita_owns.identity)
    # rita owns that agent: no buttons for her, and a forged POST is refused.
    page = client_for(rita).get(f"{LIST}{review.pk}/").content.decode()
    assert f'id="item-{own_item.pk}"' in page and f"/items/{own_item.pk}/decide/" not in page
    assert client_for(rita).post(f"{LIST}{review.pk}/items/{own_item.pk}/decide/", {"decision": "keep"}).status_code == 403
    assert AccessReviewItem.objects.get(pk=own_item.pk).decision == ""
    # bob owns the Wiki service (not a reviewer): he sees and decides the Wiki grant only.
    bob_page = client_for(bob).get(f"{LIST}{review.pk}/")
    assert [i.grant.identity.name for i in bob_page.context["items"]] == ["wiki-agent"]
    wiki_item = review.items.get(grant__identity=on_wiki.identity)
    assert client_for(bob).post(f"{LIST}{review.pk}/items/{wiki_item.pk}/decide/", {"decision": "keep"}).status_code == 302
    assert AccessReviewItem.objects.get(pk=wiki_item.pk).decision == "keep"
    assert client_for(bob).post(f"{LIST}{review.pk}/items/{own_item.pk}/decide/", {"decision": "keep"}).status_code == 404
    assert client_for(bob).post(f"{LIST}{review.pk}/close/").status_code == 403


def test_closing_revokes_what_nobody_kept_when_the_round_says_so(client_for, rita, make_agent, bob, crm, grant):
    quiet = make_agent(bob, name="quiet-agent")
    quiet_grant = grant(quiet, crm, ["tickets:read"])
    client = client_for(rita)
    launch(client, service=crm.pk, revoke_unreviewed="on")
    review = AccessReview.objects.get()
    assert client.post(f"{LIST}{review.pk}/close/", follow=True).status_code == 200
    review.refresh_from_db()
    quiet_grant.refresh_from_db()
    assert review.closed_at and quiet_grant.revoked_at and "Nobody kept it" in quiet_grant.revoke_reason
    item = review.items.get()
    assert (item.decision, item.decided_by_label) == ("revoke", "system:access_review")
    event = AuditEvent.objects.get(action="access_review.close")
    assert event.after["unreviewed"] == 1 and event.after["revoked_unreviewed"] == 1
    # Closed: no more decisions, no second closing.
    assert "This review is closed already" in client.post(f"{LIST}{review.pk}/close/", follow=True).content.decode()


def test_launching_refuses_bad_input_next_to_the_field(client_for, rita, crm):
    response = launch(client_for(rita), service=crm.pk, due="2020-01-01")
    assert response.status_code == 400 and response.context["form"].errors["due"]
    response = launch(client_for(rita), service=crm.pk)  # the CRM has no live grant
    assert response.status_code == 400 and "No live grant" in str(response.context["form"].errors["service"])
    assert not AccessReview.objects.exists()


def test_outsiders_and_owners_who_own_no_service_see_nothing(client_for, sam, alice, charlie, carol, make_agent, crm, grant):
    grant(make_agent(alice), crm, ["tickets:read"])
    launch(client_for(sam))
    review = AccessReview.objects.get()
    item = review.items.get()
    for person in (alice, charlie):
        client = client_for(person)
        assert client.get(LIST).status_code == 403
        assert client.get(f"{LIST}{review.pk}/").status_code == 403
        assert client.get(f"{LIST}{review.pk}/export.csv").status_code == 403
        assert client.post(f"{LIST}{review.pk}/items/{item.pk}/decide/", {"decision": "keep"}).status_code == 403
        assert client.get(f"{LIST}new/").status_code == 403
    # Compliance reads every round, decides nothing.
    assert client_for(carol).get(f"{LIST}{review.pk}/").status_code == 200
    assert client_for(carol).post(f"{LIST}{review.pk}/items/{item.pk}/decide/", {"decision": "keep"}).status_code == 403
    assert client_for(carol).get(f"{LIST}new/").status_code == 403
    assert AccessReviewItem.objects.get(pk=item.pk).decision == ""


API = "/api/v1/access-reviews/"


def test_a_closed_round_shows_what_nobody_decided_as_missed_not_waiting(client_for, rita, make_agent, bob, crm, grant):
    grant(make_agent(bob, name="quiet-agent"), crm, ["tickets:read"])
    client = client_for(rita)
    launch(client, service=crm.pk)
    review = AccessReview.objects.get()
    assert ">Waiting<" in client.get(f"{LIST}{review.pk}/").content.decode()
    client.post(f"{LIST}{review.pk}/close/")

    page = client.get(f"{LIST}{review.pk}/").content.decode()

    assert ">Missed<" in page and ">Waiting<" not in page
    assert "0 kept, 0 revoked, 1 not reviewed (missed), of 1." in page and "How to decide" not in page
    assert "What nobody decided stays on record as missed; this round did not revoke it." in page


def test_the_api_launches_lists_decides_and_closes(client_for, rita, alice, carol, make_agent, bob, crm, grant):
    needed = make_agent(bob, name="needed")
    grant(needed, crm, ["tickets:read"])
    client = client_for(rita)
    created = client.post(API, {"name": "Yearly", "due": DUE, "service": crm.pk}, content_type="application/json")
    assert created.status_code == 201 and created.json()["progress"] == {"total": 1, "kept": 0, "revoked": 0, "waiting": 1}
    pk = created.json()["id"]
    [item] = client.get(f"{API}{pk}/items/").json()["results"]
    assert (item["identity_name"], item["scopes"], item["decision"], item["grant_state"]) == ("needed", ["tickets:read"], "", "live")
    bad = client.post(f"{API}{pk}/items/{item['id']}/decide/", {"decision": "revoke"}, content_type="application/json")
    assert bad.status_code == 400 and "reason" in bad.json()
    kept = client.post(f"{API}{pk}/items/{item['id']}/decide/", {"decision": "keep"}, content_type="application/json")
    assert kept.status_code == 200 and kept.json()["decided_by"] == "rita"
    assert client_for(carol).post(f"{API}{pk}/close/").status_code == 403
    closed = client.post(f"{API}{pk}/close/")
    assert closed.status_code == 200 and closed.json()["closed_at"]
    assert client.post(f"{API}{pk}/close/").status_code == 409
    assert [r["name"] for r in client_for(carol).get(API).json()["results"]] == ["Yearly"]
    assert client_for(alice).get(API).status_code == 403
    assert client_for(alice).get(f"{API}{pk}/items/").status_code == 403
    assert client.post(API, {"name": "", "due": "2020-01-01"}, content_type="application/json").status_code == 400


def test_the_sweep_closes_a_round_past_its_date_and_revokes_what_nobody_kept(rita, make_agent, bob, crm, grant):
    from django.core.management import call_command

    from tokens.access_reviews import access_review_launch

    quiet_grant = grant(make_agent(bob, name="quiet"), crm, ["tickets:read"])
    review = access_review_launch(actor=rita, name="Lapsing", due=timezone.localdate(), service=crm, revoke_unreviewed=True)
    call_command("close_access_reviews", stdout=open("/dev/null", "w"))
    review.refresh_from_db()
    assert review.closed_at is None  # due today: still open
    AccessReview.objects.filter(pk=review.pk).update(due=timezone.localdate() - timedelta(days=1))
    call_command("governance_sweep", "--step", "close_access_reviews", stdout=open("/dev/null", "w"), stderr=open("/dev/null", "w"))
    review.refresh_from_db()
    quiet_grant.refresh_from_db()
    assert review.closed_at and review.closed_by is None and quiet_grant.revoked_at
    assert AuditEvent.objects.get(action="access_review.close").actor_label == "system:close_access_reviews"
    assert review.items.get().reason == "not reviewed by the due date"


def test_the_navigation_counts_the_grants_waiting_for_you(client_for, rita, bob, sam, make_agent, crm, grant):
    from tokens.access_reviews import access_review_launch

    grant(make_agent(bob, name="one"), crm, ["tickets:read"])
    role_assign(user=rita, role=OWNER, actor=system_actor("tests"))  # a reviewer who also owns an agent (only owners are made owners)
    grant(make_agent(rita, name="ritas-own"), crm, ["tickets:read"])
    access_review_launch(actor=sam, name="Counting", due=timezone.localdate(), service=crm)
    nav = client_for(rita).get("/").content.decode()
    assert 'Access reviews <span class="badge badge-pending" title="grants waiting for your decision">1</span>' in nav  # not her own agent's
    assert "1 grant to review</a>" in nav  # and on the dashboard's list of what waits
    # sam granted both (the grant fixture's actor): neither waits for him.
    assert 'title="grants waiting for your decision"' not in client_for(sam).get("/").content.decode()


def test_the_deciders_are_told_once_and_reminded_before_the_date(mailoutbox, rita, sam, bob, make_agent, crm, grant):
    from django.core.management import call_command

    from tokens.access_review_notices import access_reviews_notify
    from tokens.access_reviews import access_review_launch
    from nhiportal.audit.services import system_actor

    grant(make_agent(bob, name="one"), crm, ["tickets:read"])
    role_assign(user=rita, role=OWNER, actor=system_actor("tests"))  # a reviewer who also owns an agent (only owners are made owners)
    grant(make_agent(rita, name="ritas-own"), crm, ["tickets:read"])
    review = access_review_launch(actor=sam, name="Q4", due=timezone.localdate() + timedelta(days=10), service=crm)
    told = access_reviews_notify(actor=system_actor("tests"))
    assert told == {"reviews": 1, "people": 1, "reminded": 0, "reminded_people": 0}
    # sam owns the CRM and is a security admin, but granted both: he certifies neither, so is not asked.
    [mail] = mailoutbox
    assert mail.to == ["rita@example.com"] and "1 grant to review" in mail.subject  # not her own agent's
    assert f"http://testserver/access-reviews/{review.pk}/" in mail.body
    assert access_reviews_notify(actor=system_actor("tests"))["reviews"] == 0 and len(mailoutbox) == 1  # once
    AccessReview.objects.filter(pk=review.pk).update(due=timezone.localdate() + timedelta(days=2))
    call_command("governance_sweep", "--step", "notify_access_reviews", stdout=open("/dev/null", "w"), stderr=open("/dev/null", "w"))
    assert len(mailoutbox) == 2 and mailoutbox[1].subject.startswith("[NHI Portal] Reminder")
    assert list(AuditEvent.objects.filter(action__startswith="access_reviews.").order_by("id").values_list("action", flat=True)) == [
        "access_reviews.notify", "access_reviews.remind",
    ]


def test_a_service_owner_keeps_several_grants_at_once_all_or_none(client_for, sam, rita, bob, make_agent, crm, grant):
    grant(make_agent(bob, name="a"), crm, ["tickets:read"])
    grant(make_agent(bob, name="b"), crm, ["tickets:read"])
    role_assign(user=rita, role=OWNER, actor=system_actor("tests"))  # a reviewer who also owns an agent (only owners are made owners)
    grant(make_agent(rita, name="ritas"), crm, ["tickets:read"])
    client = client_for(rita)
    launch(client, service=crm.pk)
    review = AccessReview.objects.get()
    mine = review.items.get(grant__identity__name="ritas")
    theirs = list(review.items.exclude(pk=mine.pk).values_list("pk", flat=True))
    # Her own agent's grant among those ticked: refused, nothing kept.
    response = client.post(f"{LIST}{review.pk}/keep/", {"item": [*theirs, mine.pk]}, follow=True)
    assert "not one you may decide" in response.content.decode()
    assert not review.items.exclude(decision="").exists()
    response = client.post(f"{LIST}{review.pk}/keep/", {"item": theirs}, follow=True)
    assert "Kept 2 grants." in response.content.decode()
    assert set(review.items.filter(decision="keep").values_list("pk", flat=True)) == set(theirs)
    assert AuditEvent.objects.filter(action="access_review.decide").count() == 2
    assert "Tick at least one grant" in client.post(f"{LIST}{review.pk}/keep/", {}, follow=True).content.decode()


def test_a_service_page_offers_reviewers_a_review_of_its_access(client_for, rita, alice, make_agent, bob, crm, grant):
    grant(make_agent(bob), crm, ["tickets:read"])
    page = client_for(rita).get(f"/services/{crm.pk}/").content.decode()
    assert f'href="/access-reviews/new/?service={crm.pk}">Review its access</a>' in page
    assert "Review its access" not in client_for(alice).get(f"/services/{crm.pk}/").content.decode()
    form = client_for(rita).get(f"{LIST}new/?service={crm.pk}").context["form"]
    assert form.initial["service"] == crm and form.initial["name"].startswith("Access to CRM, ")
    assert client_for(rita).get(f"{LIST}new/?service=nonsense").status_code == 200  # no service chosen, no error


def test_the_identity_page_says_which_grants_wait_in_a_review(client_for, sam, rita, alice, make_agent, crm, grant):
    agent = make_agent(alice)
    grant(agent, crm, ["tickets:read"])
    panel = f"/identities/{agent.identity.pk}/access-panel/"
    assert "in review" not in client_for(alice).get(panel).content.decode()
    launch(client_for(sam), service=crm.pk)
    review = AccessReview.objects.get()
    html = client_for(alice).get(panel).content.decode()
    assert "in review" in html and "/access-reviews/" not in html  # a page she may not open is not linked
    assert f'href="/access-reviews/{review.pk}/" class="badge badge-pending"' in client_for(sam).get(panel).content.decode()
    item = review.items.get()
    client_for(rita).post(f"{LIST}{review.pk}/items/{item.pk}/decide/", {"decision": "keep"})  # sam granted it: not his to keep
    assert "in review" not in client_for(alice).get(panel).content.decode()


def test_a_service_owner_counts_only_the_grants_of_their_services(client_for, sam, alice, bob, make_agent, crm, grant):
    wiki = service_create(actor=sam, name="Wiki", audience="https://wiki.example.com", owner=bob, trust_boundary="corp-internal",
                          scopes=[{"name": "pages:read", "description": "Read pages"}])
    grant(make_agent(alice, name="wiki-agent"), wiki, ["pages:read"])
    for n in range(3):
        grant(make_agent(alice, name=f"crm-agent-{n}"), crm, ["tickets:read"])
    launch(client_for(sam), name="Q4 access")
    review = AccessReview.objects.get()
    client = client_for(bob)
    page = client.get(f"/access-reviews/{review.pk}/")
    assert [i.grant.identity.name for i in page.context["items"]] == ["wiki-agent"]
    assert page.context["progress"] == {"total": 1, "kept": 0, "revoked": 0, "waiting": 1}
    assert client.get(f"/api/v1/access-reviews/{review.pk}/").json()["progress"]["total"] == 1
    assert client.get("/api/v1/access-reviews/").json()["results"][0]["progress"]["total"] == 1
    assert "0 of 1" in client.get("/access-reviews/").content.decode()
    # A reviewer reads the whole round.
    assert client_for(sam).get(f"/api/v1/access-reviews/{review.pk}/").json()["progress"]["total"] == 4


def _asked_and_approved(*, asker, vouching_owner=None, approver, identity, service, scopes):
    """A grant made the way access requests make one (tokens/access_requests.py)."""
    from tokens.access_requests import access_request_approve, access_request_create

    request = access_request_create(
        actor=asker, identity=identity, service=service, scopes=scopes,
        ends_at=timezone.now() + timedelta(days=30), justification="Reads tickets to draft replies.",
    )
    if vouching_owner is not None:
        request = access_request_approve(actor=vouching_owner, access_request=request)
    return access_request_approve(actor=approver, access_request=request).grant


def test_nobody_certifies_access_they_approved_or_granted_themselves(client_for, sam, rita, bob, make_agent, crm, grant):
    approved_by_rita = _asked_and_approved(
        asker=bob, approver=rita, identity=make_agent(bob, name="asked-agent").identity, service=crm, scopes=["tickets:read"],
    )
    granted_by_sam = grant(make_agent(bob, name="granted-agent"), crm, ["tickets:read"])  # sam, directly
    launch(client_for(rita), service=crm.pk)
    review = AccessReview.objects.get()
    ritas, sams = review.items.get(grant=approved_by_rita), review.items.get(grant=granted_by_sam)

    refused = client_for(rita).post(f"{API}{review.pk}/items/{ritas.pk}/decide/", {"decision": "keep"}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "You granted this access, so you do not certify it: the service's owner (sam), a reviewer or a security admin who took no part in it decides."
    )
    page = client_for(rita).get(f"{LIST}{review.pk}/").content.decode()
    assert f"/items/{ritas.pk}/decide/" not in page and f'value="{ritas.pk}" form="keep-several"' not in page
    assert "You granted this access, so you do not certify it" in page
    assert f"/items/{sams.pk}/decide/" in page and f'value="{sams.pk}" form="keep-several"' in page
    assert 'title="grants waiting for your decision">1</span>' in client_for(rita).get("/").content.decode()  # sam's only
    # The same for the security admin who granted directly, on the page; each decides the other's.
    assert client_for(sam).post(f"{LIST}{review.pk}/items/{sams.pk}/decide/", {"decision": "keep"}).status_code == 403
    assert client_for(sam).post(f"{API}{review.pk}/items/{ritas.pk}/decide/", {"decision": "keep"}, content_type="application/json").status_code == 200
    assert client_for(rita).post(f"{LIST}{review.pk}/items/{sams.pk}/decide/", {"decision": "keep"}).status_code == 302
    assert [e.actor_label for e in AuditEvent.objects.filter(action="access_review.decide").order_by("id")] == ["sam", "rita"]


def test_the_requester_and_the_owner_who_vouched_do_not_certify_it_either(client_for, sam, rita, alice, bob, make_agent):
    from inventory.services import identity_owners_set

    wiki = service_create(actor=sam, name="Wiki", audience="https://wiki.example.com", owner=bob, trust_boundary="corp-internal",
                          scopes=[{"name": "pages:read", "description": "Read pages"}])
    agent = make_agent(alice, name="wiki-agent", backups=[bob])
    # sam (not an owner) asks, bob vouches as a backup owner, rita approves at the service stage.
    made = _asked_and_approved(asker=sam, vouching_owner=bob, approver=rita, identity=agent.identity, service=wiki, scopes=["pages:read"])
    identity_owners_set(actor=alice, identity=agent.identity, primary_owner=alice)  # bob owns it no more; he still owns the Wiki
    launch(client_for(rita), service=wiki.pk)
    review = AccessReview.objects.get()
    item = review.items.get(grant=made)

    page = client_for(bob).get(f"{LIST}{review.pk}/").content.decode()
    assert f'id="item-{item.pk}"' in page and f"/items/{item.pk}/decide/" not in page
    assert "You approved the access request that made this grant, so you do not certify it: a reviewer or a security admin" in page
    assert client_for(bob).post(f"{LIST}{review.pk}/items/{item.pk}/decide/", {"decision": "revoke", "reason": "x"}).status_code == 403
    kept = client_for(bob).post(f"{LIST}{review.pk}/keep/", {"item": [item.pk]}, follow=True).content.decode()
    assert "not one you may decide" in kept
    assert 'title="grants waiting for your decision"' not in client_for(bob).get("/").content.decode()
    asked = client_for(sam).post(f"{API}{review.pk}/items/{item.pk}/decide/", {"decision": "keep"}, content_type="application/json")
    assert asked.status_code == 403 and asked.json()["detail"].startswith("You asked for this access, so you do not certify it")
    assert AccessReviewItem.objects.get(pk=item.pk).decision == ""
    assert not AuditEvent.objects.filter(action="access_review.decide").exists()
