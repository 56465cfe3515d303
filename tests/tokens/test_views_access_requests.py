"""The access request pages: asking, the list, deciding, and what each person may see."""

import re

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from tokens.access_requests import access_request_create
from tokens.models import AccessRequest, AccessRequestState, Grant

from .test_views_grants import grant_data


def form_data(identity, service, scopes, **overrides):
    return grant_data(identity, service, scopes, **{"justification": "Drafts replies to open tickets.", **overrides})


@pytest.fixture
def waiting(alice, agent, crm):
    """alice's request for her agent, waiting for the service's reviewer."""
    return access_request_create(
        actor=alice, identity=agent.identity, service=crm, scopes=["tickets:read"],
        ends_at=timezone.now() + timedelta(days=7), justification="Drafts replies to open tickets.",
    )


def test_an_owner_asks_in_the_browser_and_lands_on_the_request(client_for, alice, agent, crm):
    response = client_for(alice).post("/access-requests/new/", form_data(agent.identity, crm, ["tickets:read"]))
    request = AccessRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/access-requests/{request.pk}/"
    assert request.requested_by == alice and request.state == AccessRequestState.SERVICE_REVIEW
    page = client_for(alice).get(response["Location"])
    assert b"Waiting for the service&#x27;s reviewer" in page.content and b"You asked, so other people decide." in page.content


def test_the_form_shows_each_refusal_next_to_its_field(client_for, alice, agent, crm):
    data = form_data(agent.identity, crm, ["tickets:read"], justification="", ends_at=(timezone.now() + timedelta(days=200)).strftime("%Y-%m-%dT%H:%M"))
    response = client_for(alice).post("/access-requests/new/", data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "This field is required." in body
    assert not AccessRequest.objects.exists()

    data = form_data(agent.identity, crm, ["tickets:read"], ends_at=(timezone.now() + timedelta(days=200)).strftime("%Y-%m-%dT%H:%M"))
    response = client_for(alice).post("/access-requests/new/", data)
    assert response.status_code == 400 and "Ask for at most 90 days" in response.content.decode()
    assert not AccessRequest.objects.exists()


def test_the_form_offers_only_identities_the_person_may_ask_for(client_for, alice, bob, make_identity, agent):
    bobs = make_identity(bob, name="bobs-agent")
    body = client_for(alice).get("/access-requests/new/").content.decode()
    # The page lists no identity: its picker asks the search, which offers hers only.
    assert bobs.name not in body and 'data-search-url="/identities/search/?purpose=requestable"' in body
    found = client_for(alice).get("/identities/search/", {"purpose": "requestable", "q": "agent"}).json()["results"]
    assert [row["label"] for row in found] == [agent.identity.name]
    response = client_for(alice).post("/access-requests/new/", {"identity": str(bobs.pk)})
    assert response.status_code == 400 and "No identity you may choose has that name or client_id" in response.content.decode()


def test_a_reviewer_approves_in_the_browser_and_the_grant_exists(client_for, rita, waiting):
    response = client_for(rita).post(f"/access-requests/{waiting.pk}/", {"decision": "approve", "approve-reason": "read only is fine"})
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.state == AccessRequestState.APPROVED and waiting.decision_reason == "read only is fine"
    assert Grant.objects.get() == waiting.grant
    page = client_for(rita).get(f"/access-requests/{waiting.pk}/").content.decode()
    assert f"grant #{waiting.grant_id}" in page


def test_a_refusal_without_a_reason_stays_on_the_page_with_the_error(client_for, rita, waiting):
    response = client_for(rita).post(f"/access-requests/{waiting.pk}/", {"decision": "reject", "reject-reason": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.state == AccessRequestState.SERVICE_REVIEW


def test_the_requester_is_refused_a_decision_on_their_own_request(client_for, alice, waiting):
    response = client_for(alice).post(f"/access-requests/{waiting.pk}/", {"decision": "approve"})
    assert response.status_code == 403
    waiting.refresh_from_db()
    assert waiting.state == AccessRequestState.SERVICE_REVIEW and not Grant.objects.exists()


def test_the_requester_cancels_from_the_page(client_for, alice, waiting):
    response = client_for(alice).post(f"/access-requests/{waiting.pk}/", {"decision": "cancel", "cancel-reason": "wrong scope"})
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.state == AccessRequestState.CANCELLED
    assert AuditEvent.objects.filter(action="access_request.cancel", object_id=str(waiting.pk)).count() == 1


def test_an_outsider_learns_nothing(client_for, charlie, alice, agent, waiting):
    outsider = client_for(charlie)
    assert outsider.get(f"/access-requests/{waiting.pk}/").status_code == 404
    assert outsider.post(f"/access-requests/{waiting.pk}/", {"decision": "approve"}).status_code == 404
    assert outsider.get(f"/access-requests/new/?identity={agent.identity.pk}").status_code == 404
    assert outsider.get("/access-requests/new/?identity=not-a-uuid").status_code == 404
    listing = outsider.get("/access-requests/?view=all").content.decode()
    assert agent.identity.name not in listing and "No access requests here" in listing
    waiting.refresh_from_db()
    assert waiting.state == AccessRequestState.SERVICE_REVIEW


def test_compliance_reads_but_neither_asks_nor_decides(client_for, carol, agent, waiting):
    reader = client_for(carol)
    assert reader.get(f"/access-requests/{waiting.pk}/").status_code == 200
    assert reader.get(f"/access-requests/new/?identity={agent.identity.pk}").status_code == 403
    assert reader.post(f"/access-requests/{waiting.pk}/", {"decision": "approve"}).status_code == 403
    assert reader.post(f"/access-requests/{waiting.pk}/", {"decision": "cancel"}).status_code == 403


def test_the_list_shows_what_waits_for_the_reviewer_and_the_sidebar_counts_it(client_for, rita, alice, charlie, waiting):
    page = client_for(rita).get("/access-requests/").content.decode()
    assert f"#{waiting.pk}" in page and 'title="waiting for your decision">1<' in page
    assert 'title="waiting for your decision">' not in client_for(charlie).get("/access-requests/").content.decode()
    empty = client_for(alice).get("/access-requests/?view=waiting").content.decode()  # her own request waits for others
    assert "Nothing waits for you" in empty


def test_the_identity_panel_offers_the_request_to_owners_only(client_for, alice, carol, agent, waiting):
    panel = client_for(alice).get(f"/identities/{agent.identity.pk}/access-panel/").content.decode()
    assert f"/access-requests/new/?identity={agent.identity.pk}" in panel and f"/access-requests/{waiting.pk}/" in panel
    panel = client_for(carol).get(f"/identities/{agent.identity.pk}/access-panel/").content.decode()
    assert "/access-requests/new/" not in panel


def test_the_forms_need_a_csrf_token(alice, rita, agent, crm, waiting):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(rita)
    assert strict.post(f"/access-requests/{waiting.pk}/", {"decision": "approve"}).status_code == 403
    strict.force_login(alice)
    assert strict.post("/access-requests/new/", form_data(agent.identity, crm, ["tickets:write"])).status_code == 403
    assert AccessRequest.objects.count() == 1


def test_signed_out_people_are_sent_to_log_in(waiting):
    response = Client().get(f"/access-requests/{waiting.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_ask_again_from_a_grant_fills_in_its_service_and_scopes(client_for, alice, agent, crm, grant):
    given = grant(agent, crm, ["tickets:read", "tickets:write"], days=3)
    panel = client_for(alice).get(f"/identities/{agent.identity.pk}/access-panel/").content.decode()
    link = f"/access-requests/new/?identity={agent.identity.pk}&amp;service={crm.pk}&amp;scope=tickets%3Aread&amp;scope=tickets%3Awrite"
    assert link in panel
    form = client_for(alice).get(link.replace("&amp;", "&")).content.decode()
    checked = re.findall(r'<input type="checkbox" name="scopes" value="([^"]+)" id="[^"]+" checked>', form)
    assert checked == [f"{crm.pk}:{s}" for s in given.scopes]
    assert f'<option value="{crm.pk}" selected>' in form


def test_a_second_click_on_a_decided_request_says_it_no_longer_waits(client_for, rita, waiting):
    reviewer = client_for(rita)
    assert reviewer.post(f"/access-requests/{waiting.pk}/", {"decision": "approve"}).status_code == 302
    again = reviewer.post(f"/access-requests/{waiting.pk}/", {"decision": "approve"})
    assert again.status_code == 400 and "This request is approved; it no longer waits for a decision." in again.content.decode()
    assert Grant.objects.count() == 1


def test_the_form_shows_the_chosen_services_scopes_only_and_a_hint_before_one_is_chosen(client_for, alice, agent, crm, sam):
    from tokens.services import service_create

    service_create(actor=sam, name="Wiki", audience="https://wiki.example.com", owner=sam, trust_boundary="corp-internal",
                   scopes=[{"name": "pages:read", "description": "Read pages"}])
    blank = client_for(alice).get("/access-requests/new/").content.decode()
    assert "Choose the service first: its scopes appear here." in blank and "tickets:read" not in blank
    chosen = client_for(alice).get(f"/access-requests/new/?service={crm.pk}").content.decode()
    assert "tickets:read" in chosen and "pages:read" not in chosen
    assert 'hx-get="/access-requests/new/"' in chosen and 'hx-select="#field-id_scopes"' in chosen
    # Only what the redraw needs goes into the URL: no CSRF token, no justification.
    assert 'hx-include="[name=identity],[name=service]"' in chosen


def test_a_scope_of_another_service_is_refused_in_words(client_for, alice, agent, crm, sam):
    from tokens.services import service_create

    wiki = service_create(actor=sam, name="Wiki", audience="https://wiki.example.com", owner=sam, trust_boundary="corp-internal",
                          scopes=[{"name": "pages:read", "description": "Read pages"}])
    data = {**form_data(agent.identity, crm, ["tickets:read"]), "scopes": [f"{wiki.pk}:pages:read"]}
    response = client_for(alice).post("/access-requests/new/", data)
    assert response.status_code == 400
    assert response.context["form"].errors["scopes"] == ["Choose only scopes of CRM."]


def test_every_error_of_the_form_comes_at_once(client_for, alice, agent, crm):
    too_far = (timezone.now() + timedelta(days=400)).strftime("%Y-%m-%dT%H:%M")
    data = {**form_data(agent.identity, crm, ["tickets:read"]), "ends_at": too_far, "justification": ""}
    errors = client_for(alice).post("/access-requests/new/", data).context["form"].errors
    assert set(errors) == {"ends_at", "justification"}
    assert errors["ends_at"] == ["Ask for at most 90 days; ask again when it ends."]


def test_a_service_without_scopes_says_so_where_the_scopes_would_be(client_for, alice, agent, sam):
    from tokens.services import service_create

    empty = service_create(actor=sam, name="Empty", audience="https://empty.example.com", owner=sam, trust_boundary="corp-internal", scopes=[])
    html = client_for(alice).get(f"/access-requests/new/?service={empty.pk}").content.decode()
    assert "Empty offers no scope yet: a security admin adds them on its page." in html


def test_compliance_is_not_offered_tabs_that_could_never_hold_anything(client_for, carol, rita, waiting):
    carol_page = client_for(carol).get("/access-requests/").content.decode()
    assert "Waiting for me" not in carol_page and ">Mine<" not in carol_page and "All I can see" in carol_page
    assert "Waiting for me" in client_for(rita).get("/access-requests/").content.decode()
    assert client_for(carol).get("/access-requests/?view=mine").context["view"] == "all"


def test_an_owner_vouching_after_a_co_owner_did_is_told_it_moved_on(client_for, make_agent, alice, bob, sam, crm):
    agent = make_agent(alice, backups=[bob])
    asked = access_request_create(
        actor=sam, identity=agent.identity, service=crm, scopes=["tickets:read"],
        ends_at=timezone.now() + timedelta(days=7), justification="Drafts replies to open tickets.",
    )
    url = f"/access-requests/{asked.pk}/"
    page = client_for(bob).get(url).content.decode()
    assert '<input type="hidden" name="stage" value="owner">' in page  # what bob's click will post
    assert client_for(alice).post(url, {"decision": "approve", "stage": "owner"}).status_code == 302
    late = client_for(bob).post(url, {"decision": "approve", "stage": "owner"})
    assert late.status_code == 400
    assert "Someone decided the owner stage while you were reading it; it now waits at the service stage. Nothing was done." in late.content.decode()
    assert AuditEvent.objects.filter(action="access_request.approve", object_id=str(asked.pk)).count() == 1
    # Without the stage it showed, a click at a stage the person does not decide stays refused.
    assert client_for(bob).post(url, {"decision": "approve"}).status_code == 403


@pytest.mark.parametrize("stage", ["owner", "service", "anything"])
def test_posting_a_stage_does_not_turn_a_refusal_into_a_form_error(client_for, carol, alice, waiting, stage):
    # compliance staff read the request and decide no stage; the requester decides none of theirs
    for person in (carol, alice):
        assert client_for(person).post(f"/access-requests/{waiting.pk}/", {"decision": "approve", "stage": stage}).status_code == 403
