"""The tokens list (/tokens/, its CSV, GET /api/v1/tokens/): the ledger across identities, seen
through the one gate, filtered the same on the page and the API, and a token revoked from it."""

import csv
import io
import re
from datetime import timedelta

import jwt
import pytest
from django.test import Client
from django.utils import timezone

from inventory.models import AIIdentity, Status
from nhiportal.audit.models import AuditEvent
from tokens.models import IssuedToken, Task, WorkloadCredential
from tokens.revocation import token_revoke
from tokens.services import service_create

from .conftest import token_request

WIKI = "https://wiki.example.com"


def jti_of(issued: dict) -> str:
    return jwt.decode(issued["access_token"], options={"verify_signature": False})["jti"]


def row(issued: dict) -> IssuedToken:
    return IssuedToken.objects.get(jti=jti_of(issued))


def shown(response) -> list[str]:
    """The jtis of the rows the page shows, in order (each row carries its full jti in a title)."""
    assert response.status_code == 200, response.content
    return [t.jti for t in response.context["tokens"]]


def api_jtis(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [t["jti"] for t in response.json()["results"]]


def csv_rows(response) -> list[dict]:
    """The export's rows, each jti as the ledger has it: one starting with "-" comes with the
    apostrophe that keeps a spreadsheet from reading it as a formula (nhiportal/csv_cells.py)."""
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    return [{**r, "jti": r["jti"].removeprefix("'")} for r in rows]


@pytest.fixture
def ledger(sam, alice, bob, make_agent, crm, grant, oauth, get_token):
    """alice's agent: a CRM token, a wiki token bound to its key (DPoP), an expired one, a
    revoked one; bob's agent: one CRM token. Issued one after the other, so newest last."""
    wiki = service_create(
        actor=sam, name="Wiki", audience=WIKI, owner=sam, trust_boundary="corp-internal", scopes=[{"name": "pages:read", "description": "Read"}],
    )
    alices = make_agent(alice, name="alice-agent")
    bobs = make_agent(bob, name="bob-agent")
    grant(alices, wiki, ["pages:read"])
    grant(alices, crm, ["tickets:read", "tickets:write"])
    expired = row(get_token(alices))
    revoked = row(get_token(alices))
    crm_token = row(get_token(alices))
    response = token_request(oauth, alices, resource=WIKI, scope="pages:read")
    assert response.status_code == 200, response.content
    wiki_token = row(response.json())
    bobs_token = row(get_token(bobs))
    IssuedToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    IssuedToken.objects.filter(pk=wiki_token.pk).update(cnf_jkt="0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
    token_revoke(token=revoked, actor=alice, reason="Leaked in a log")
    return {"alices": alices, "bobs": bobs, "wiki": wiki, "expired": expired.jti, "revoked": revoked.jti, "crm": crm_token.jti,
            "wiki_token": wiki_token.jti, "bobs_token": bobs_token.jti}


# Who sees what


def test_a_security_admin_sees_every_live_token_newest_first(client_for, sam, ledger):
    response = client_for(sam).get("/tokens/")
    assert shown(response) == [ledger["bobs_token"], ledger["wiki_token"], ledger["crm"]]
    page = response.content.decode()
    assert "3 tokens</p>" in page and "alice-agent" in page and "bob-agent" in page
    assert page.count(">Revoke…</a>") == 3
    assert 'aria-current="page">Tokens</a>' in page  # the menu says where one is


def test_the_state_tabs_split_the_ledger(client_for, sam, ledger):
    client = client_for(sam)
    assert shown(client.get("/tokens/", {"state": "expired"})) == [ledger["expired"]]
    revoked = client.get("/tokens/", {"state": "revoked"})
    assert shown(revoked) == [ledger["revoked"]]
    assert "Leaked in a log" in revoked.content.decode() and ">Revoke…</a>" not in revoked.content.decode()
    assert len(shown(client.get("/tokens/", {"state": "all"}))) == 5
    assert len(shown(client.get("/tokens/", {"state": "nonsense"}))) == 3  # an unknown tab is the default, live


def test_an_owner_sees_the_tokens_of_her_identities_only(client_for, alice, bob, ledger):
    client = client_for(alice)
    assert set(shown(client.get("/tokens/", {"state": "all"}))) == {ledger[k] for k in ("expired", "revoked", "crm", "wiki_token")}
    assert api_jtis(client.get("/api/v1/tokens/", {"state": "live"})) == [ledger["wiki_token"], ledger["crm"]]
    assert {r["jti"] for r in csv_rows(client.get("/tokens/export.csv", {"state": "all"}))} == {
        ledger[k] for k in ("expired", "revoked", "crm", "wiki_token")
    }
    bob_page = client_for(bob).get("/tokens/")
    assert shown(bob_page) == [ledger["bobs_token"]] and "alice-agent" not in bob_page.content.decode()


def test_reviewers_and_compliance_read_everything_and_revoke_nothing(client_for, rita, carol, ledger):
    token = IssuedToken.objects.get(jti=ledger["crm"])
    for person in (rita, carol):
        client = client_for(person)
        page = client.get("/tokens/")
        assert len(shown(page)) == 3 and ">Revoke…</a>" not in page.content.decode()
        assert client.get(f"/tokens/{token.pk}/revoke/").status_code == 403
        assert client.post(f"/tokens/{token.pk}/revoke/", {"reason": "no"}).status_code == 403
        assert client.post(f"/api/v1/tokens/{token.pk}/revoke/", {}, content_type="application/json").status_code == 403
    assert IssuedToken.objects.get(pk=token.pk).revoked_at is None


def test_an_outsider_sees_none_and_learns_nothing(client_for, charlie, ledger):
    client = client_for(charlie)
    alices = ledger["alices"].identity
    token = IssuedToken.objects.get(jti=ledger["crm"])
    for query in ({}, {"state": "all"}, {"identity": "alice-agent"}, {"identity": str(alices.pk)}, {"q": ledger["crm"][:8]}):
        response = client.get("/tokens/", query)
        page = response.content.decode()
        assert shown(response) == [] and "tokens</p>" not in page and ledger["crm"][:8] not in page.replace(query.get("q", "-"), "")
        assert str(alices.pk) not in page.replace(query.get("identity", "-"), "")
        assert client.get("/api/v1/tokens/", query).json()["count"] == 0
        assert csv_rows(client.get("/tokens/export.csv", query)) == []
    assert "No live token" in client.get("/tokens/").content.decode()
    # A token of an identity they cannot see is not there, whether read or revoked.
    assert client.get(f"/tokens/{token.pk}/revoke/").status_code == 404
    assert client.post(f"/tokens/{token.pk}/revoke/").status_code == 404
    assert client.get(f"/api/v1/tokens/{token.pk}/").status_code == 404
    assert client.post(f"/api/v1/tokens/{token.pk}/revoke/", {}, content_type="application/json").status_code == 404
    assert client.get("/tokens/999999/revoke/").status_code == 404
    assert IssuedToken.objects.get(pk=token.pk).revoked_at is None


def test_signed_out_people_are_sent_to_sign_in_and_programs_get_401(ledger):
    assert Client().get("/tokens/").status_code == 302
    assert Client().get("/api/v1/tokens/").status_code in (401, 403)


# Filters, the same on the page, its export and the API


def _filtered(client, query, state="all"):
    """(page rows, export rows, API rows) for one query, as sets of jtis."""
    page = set(shown(client.get("/tokens/", {"state": state, **query})))
    exported = {r["jti"] for r in csv_rows(client.get("/tokens/export.csv", {"state": state, **query}))}
    api = set(api_jtis(client.get("/api/v1/tokens/", {**({"state": state} if state != "all" else {}), **query})))
    assert page == exported == api, query
    return page


def test_each_filter_narrows_the_page_its_export_and_the_api_alike(client_for, sam, ledger):
    client = client_for(sam)
    bobs = ledger["bobs"].identity
    alice_all = {ledger[k] for k in ("expired", "revoked", "crm", "wiki_token")}
    assert _filtered(client, {"identity": "ALICE-agent"}) == alice_all
    assert _filtered(client, {"identity": str(bobs.pk)}) == {ledger["bobs_token"]}
    assert _filtered(client, {"service": ledger["wiki"].pk}) == {ledger["wiki_token"]}
    credential = WorkloadCredential.objects.get(identity=bobs)
    assert _filtered(client, {"credential": credential.pk}) == {ledger["bobs_token"]}
    kid = IssuedToken.objects.get(jti=ledger["crm"]).signing_kid
    assert _filtered(client, {"kid": kid}) == alice_all | {ledger["bobs_token"]}
    assert _filtered(client, {"kid": "not-a-kid"}) == set()
    assert _filtered(client, {"dpop": "true"}) == {ledger["wiki_token"]}
    assert _filtered(client, {"dpop": "false"}) == alice_all - {ledger["wiki_token"]} | {ledger["bobs_token"]}
    assert _filtered(client, {"q": ledger["revoked"][:10]}) == {ledger["revoked"]}
    assert _filtered(client, {"q": "bob-ag"}) == {ledger["bobs_token"]}
    assert _filtered(client, {"identity": "alice-agent", "dpop": "false"}, state="live") == {ledger["crm"]}


def test_outlived_finds_live_tokens_that_what_ended_them_should_have_revoked(client_for, sam, bob, charlie, ledger):
    """Ending a task, suspending an identity and disabling a credential revoke its tokens; a
    live token where that was missed (data from before the rule, say) is what NHIP-09 counts.
    Each filter narrows the page, its export and the API alike, and an owner or an outsider
    finds no token of someone else's behind it."""
    crm = IssuedToken.objects.get(jti=ledger["crm"])
    Task.objects.filter(pk=crm.task_id).update(ended_at=timezone.now())
    AIIdentity.objects.filter(pk=ledger["bobs"].identity.pk).update(status=Status.SUSPENDED)
    WorkloadCredential.objects.filter(pk=crm.credential_id).update(enabled=False)  # alice's agent's key
    client = client_for(sam)
    assert _filtered(client, {"outlived": "task"}, state="live") == {ledger["crm"]}
    assert _filtered(client, {"outlived": "identity"}, state="live") == {ledger["bobs_token"]}
    assert _filtered(client, {"outlived": "credential"}, state="live") == {ledger["crm"], ledger["wiki_token"]}
    # The revoked and the expired ones outlived the key too, but revocation has nothing left to do.
    assert _filtered(client, {"outlived": "credential"}) == {ledger[k] for k in ("expired", "revoked", "crm", "wiki_token")}
    assert _filtered(client_for(bob), {"outlived": "identity"}, state="live") == {ledger["bobs_token"]}
    for what in ("task", "credential"):
        assert _filtered(client_for(bob), {"outlived": what}, state="live") == set()
    for what in ("task", "identity", "credential"):
        assert _filtered(client_for(charlie), {"outlived": what}) == set()


def test_since_and_until_pick_days_on_the_page_and_instants_on_the_api(client_for, sam, ledger):
    IssuedToken.objects.filter(jti=ledger["expired"]).update(issued_at=timezone.now() - timedelta(days=40))
    client = client_for(sam)
    today = timezone.localdate()
    page = {"since": (today - timedelta(days=30)).isoformat()}
    assert len(shown(client.get("/tokens/", {"state": "all", **page}))) == 4
    old = shown(client.get("/tokens/", {"state": "all", "until": (today - timedelta(days=40)).isoformat()}))
    assert old == [ledger["expired"]]  # "until" takes that whole day
    cut = (timezone.now() - timedelta(days=1)).isoformat()
    assert len(api_jtis(client.get("/api/v1/tokens/", {"since": cut}))) == 4
    assert api_jtis(client.get("/api/v1/tokens/", {"until": cut})) == [ledger["expired"]]
    refused = client.get("/api/v1/tokens/", {"since": today.isoformat()})  # a day is ambiguous to a program
    assert refused.status_code == 400 and "since" in refused.json()


@pytest.mark.parametrize("query", [
    {"since": "yesterday"}, {"until": "2026-02-30"}, {"service": "999999"}, {"dpop": "maybe"}, {"credential": "abc"}, {"outlived": "grant"},
    {"credential": "99999999999999999999999"},  # beyond any row id: SQLite cannot even compare it
])
def test_a_bad_filter_is_a_400_next_to_its_field_never_a_500(client_for, sam, ledger, query):
    client = client_for(sam)
    [(name, _)] = query.items()
    page = client.get("/tokens/", query)
    assert page.status_code == 400 and shown.__name__  # the page still renders, with the reason
    assert re.search(rf'id="id_{name}"', page.content.decode()) and "Some filters are not valid" in page.content.decode()
    assert page.context["tokens"] == []
    assert client.get("/tokens/export.csv", query).status_code == 400
    api = client.get("/api/v1/tokens/", query)
    assert api.status_code == 400 and name in api.json()


def test_the_api_shows_facts_never_the_token(client_for, sam, ledger):
    client = client_for(sam)
    token = IssuedToken.objects.get(jti=ledger["wiki_token"])
    detail = client.get(f"/api/v1/tokens/{token.pk}/").json()
    assert set(detail) == {
        "id", "jti", "identity", "identity_name", "audience", "service", "scopes", "task", "exchanged_from", "credential",
        "issued_at", "expires_at", "state", "revoked_at", "revoked_by", "revoke_reason", "dpop_bound", "dpop_jkt", "signing_kid",
    }
    assert detail["state"] == "live" and detail["dpop_bound"] is True and detail["audience"] == WIKI and detail["service"] == ledger["wiki"].pk
    assert detail["identity_name"] == "alice-agent" and detail["scopes"] == ["pages:read"]
    revoked = client.get("/api/v1/tokens/", {"state": "revoked"}).json()["results"]
    assert [(r["state"], r["revoke_reason"]) for r in revoked] == [("revoked", "Leaked in a log")]


def test_the_api_documents_the_list_its_filters_and_revoke(client_for, sam):
    schema = client_for(sam).get("/api/schema/?format=json").json()
    listing = schema["paths"]["/api/v1/tokens/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"state", "identity", "service", "credential", "kid", "dpop", "since", "until", "q", "outlived", "page"}
    assert "post" in schema["paths"]["/api/v1/tokens/{id}/revoke/"]
    assert set(schema["paths"]["/api/v1/tokens/{id}/"]) == {"get", "parameters"} or "get" in schema["paths"]["/api/v1/tokens/{id}/"]
    assert "post" not in schema["paths"]["/api/v1/tokens/"]


# Revoking from the list


def test_an_owner_revokes_a_token_from_the_list_and_comes_back_to_it(client_for, alice, ledger, audit_actions_during):
    client = client_for(alice)
    token = IssuedToken.objects.get(jti=ledger["crm"])
    listed = "/tokens/?identity=alice-agent&dpop=false"
    page = client.get(listed).content.decode()
    revoke_url = f"/tokens/{token.pk}/revoke/?back=/tokens/%3Fidentity%3Dalice-agent%26dpop%3Dfalse"
    assert f'href="{revoke_url}"' in page
    confirmation = client.get(revoke_url)
    assert confirmation.status_code == 200 and "What happens" in confirmation.content.decode()
    assert 'name="csrfmiddlewaretoken"' in confirmation.content.decode()
    response, actions = audit_actions_during(lambda: client.post(revoke_url, {"reason": "Agent retired"}))
    assert response.status_code == 302 and response["Location"] == "/tokens/?identity=alice-agent&dpop=false"
    assert actions == ["token.revoke"]
    event = AuditEvent.objects.get(action="token.revoke", object_id=token.jti)
    assert event.reason == "Agent retired" and event.actor_label == "alice"
    token.refresh_from_db()
    assert token.revoked_at and token.revoke_reason == "Agent retired" and token.revoked_by_label == "alice"
    back = client.get(response["Location"])
    assert "Revoked 1 token of alice-agent." in back.content.decode() and ledger["crm"] not in shown(back)
    # A second click (or a colleague first) is told so, and writes nothing.
    again, actions = audit_actions_during(lambda: client.post(revoke_url))
    assert again.status_code == 302 and actions == []
    assert "revoked already" in client.get(again["Location"]).content.decode()


def test_without_a_reason_the_default_is_recorded(client_for, sam, ledger):
    token = IssuedToken.objects.get(jti=ledger["bobs_token"])
    assert client_for(sam).post(f"/tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoke_reason == "Revoked from the tokens list." and token.revoked_by_label == "sam"


def test_revoking_needs_the_forms_csrf_token(alice, ledger):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    token = IssuedToken.objects.get(jti=ledger["crm"])
    assert strict.post(f"/tokens/{token.pk}/revoke/", {"reason": "x"}).status_code == 403
    assert IssuedToken.objects.get(pk=token.pk).revoked_at is None


def test_a_reason_too_long_is_said_next_to_the_field(client_for, alice, ledger):
    token = IssuedToken.objects.get(jti=ledger["crm"])
    response = client_for(alice).post(f"/tokens/{token.pk}/revoke/", {"reason": "x" * 201})
    assert response.status_code == 400 and "at most 200 characters" in response.content.decode()
    assert IssuedToken.objects.get(pk=token.pk).revoked_at is None


def test_back_goes_only_to_the_tokens_list(client_for, alice, ledger):
    client = client_for(alice)
    token = IssuedToken.objects.get(jti=ledger["crm"])
    for back in ("https://evil.example/tokens/", "//evil.example/tokens/", "/identities/", "/tokens/?state=all"):
        confirmation = client.get(f"/tokens/{token.pk}/revoke/", {"back": back})
        assert confirmation.context["cancel_url"] == ("/tokens/?state=all" if back.startswith("/tokens/") else "/tokens/"), back
    response = client.post(f"/tokens/{token.pk}/revoke/?back=https://evil.example/tokens/")
    assert response.status_code == 302 and response["Location"] == "/tokens/"


def test_an_expired_token_has_nothing_to_revoke(client_for, alice, ledger, audit_actions_during):
    token = IssuedToken.objects.get(jti=ledger["expired"])
    response, actions = audit_actions_during(lambda: client_for(alice).post(f"/tokens/{token.pk}/revoke/"))
    assert response.status_code == 302 and actions == []


def test_the_api_revokes_one_token_with_one_event(client_for, alice, ledger, audit_actions_during):
    client = client_for(alice)
    token = IssuedToken.objects.get(jti=ledger["wiki_token"])
    url = f"/api/v1/tokens/{token.pk}/revoke/"
    response, actions = audit_actions_during(lambda: client.post(url, {"reason": "Rotating"}, content_type="application/json"))
    assert response.status_code == 200, response.content
    assert actions == ["token.revoke"]
    body = response.json()
    assert body["state"] == "revoked" and body["revoke_reason"] == "Rotating" and body["tokens_revoked"] == 1 and body["tasks_ended"] == 0
    again = client.post(url, {}, content_type="application/json")
    assert again.status_code == 409 and "revoked already" in again.json()["detail"]
    refused = client.post(f"/api/v1/tokens/{IssuedToken.objects.get(jti=ledger['crm']).pk}/revoke/", {"reason": "x" * 201}, content_type="application/json")
    assert refused.status_code == 400 and "reason" in refused.json()
