"""The tasks list (/tasks/, its CSV, GET /api/v1/tasks/): every task of the identities a person
may see, across identities, seen through the one gate, filtered the same on the page, its export
and the API."""

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import Environment
from tokens.models import Service, Task
from tokens.revocation import task_end
from tokens.services import service_create

from .conftest import token_request

WIKI = "https://wiki.example.com"


def details(intent: str) -> str:
    return json.dumps([{"type": "agent_task", "intent": intent, "actions": ["read"], "sensitivity": "internal"}])


def shown(response) -> list[str]:
    """The ids of the tasks the page shows, in order."""
    assert response.status_code == 200, response.content
    return [str(t.pk) for t in response.context["tasks"]]


def api_ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [t["id"] for t in response.json()["results"]]


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def work(sam, alice, bob, rita, make_agent, crm, grant, oauth, get_token):
    """alice's autonomous production agent: a CRM task (two tokens) and a wiki task (a service
    in staging since: it crosses environments); bob's supervised agent: a CRM task a reviewer approved,
    ended, and a sub-task exchanged from it (no token of its own). Opened one after the other."""
    wiki = service_create(
        actor=sam, name="Wiki", audience=WIKI, owner=sam, trust_boundary="corp-internal", scopes=[{"name": "pages:read", "description": "Read"}],
    )
    alices = make_agent(alice, name="alice-agent", autonomy="autonomous")
    bobs = make_agent(bob, name="bob-agent")
    grant(alices, wiki, ["pages:read"])
    grant(alices, crm, ["tickets:read", "tickets:write"])
    first = get_token(alices, authorization_details=details("=Summarise open tickets"))
    get_token(alices, task_id=first["task_id"], authorization_details=None)  # a second token joins the task
    crm_task = Task.objects.get(identity=alices.identity, service=crm)
    response = token_request(oauth, alices, resource=WIKI, scope="pages:read", authorization_details=details("Read the runbook"))
    assert response.status_code == 200, response.content
    wiki_task = Task.objects.get(identity=alices.identity, service=wiki)
    # Policy refuses a production agent a staging service's token; the wiki was moved to
    # staging after (or the policy was in log-only mode): the task crosses environments.
    Service.objects.filter(pk=wiki.pk).update(environment=Environment.STAGING)
    get_token(bobs, authorization_details=details("Close stale tickets"))
    bobs_task = Task.objects.get(identity=bobs.identity, parent=None)
    now = timezone.now()
    Task.objects.filter(pk=bobs_task.pk).update(
        requires_approval=True, approved_by=rita, approved_at=now, approval_expires_at=now + timedelta(minutes=30),
    )
    task_end(task=bobs_task, actor=bob, reason="done")
    sub_task = Task.objects.create(identity=bobs.identity, service=crm, parent=bobs_task, intent="Close one", scopes=["tickets:read"])
    return {"alices": alices, "bobs": bobs, "wiki": wiki, "crm": crm, "crm_task": str(crm_task.pk), "wiki_task": str(wiki_task.pk),
            "bobs_task": str(bobs_task.pk), "sub_task": str(sub_task.pk)}


def _all(work):
    return {work[k] for k in ("crm_task", "wiki_task", "bobs_task", "sub_task")}


# Who sees what


def test_a_security_admin_sees_every_task_newest_first(client_for, sam, work):
    response = client_for(sam).get("/tasks/")
    assert shown(response) == [work["sub_task"], work["bobs_task"], work["wiki_task"], work["crm_task"]]
    page = response.content.decode()
    assert "4 tasks</p>" in page and "alice-agent" in page and "bob-agent" in page
    assert 'aria-current="page">Tasks</a>' in page  # the menu says where one is
    assert ">2</td>" in page  # the CRM task's two tokens
    assert "badge-ended" in page and "badge-open" in page and "badge-approved" in page and "Read the runbook" in page


def test_the_token_counts_are_one_query_not_one_a_row(client_for, sam, work):
    client = client_for(sam)
    client.get("/tasks/")
    with CaptureQueriesContext(connection) as few:
        client.get("/tasks/")
    Task.objects.bulk_create([Task(identity=work["bobs"].identity, service=work["crm"], intent=f"more {n}") for n in range(10)])
    with CaptureQueriesContext(connection) as more:
        response = client.get("/tasks/")
    assert len(shown(response)) == 14 and len(more) == len(few)
    assert [r["tokens"] for r in csv_rows(client.get("/tasks/export.csv")) if r["task_id"] == work["crm_task"]] == ["2"]


def test_an_owner_sees_the_tasks_of_her_identities_only(client_for, alice, bob, work):
    client = client_for(alice)
    alice_tasks = [work["wiki_task"], work["crm_task"]]
    assert shown(client.get("/tasks/")) == alice_tasks
    assert api_ids(client.get("/api/v1/tasks/")) == alice_tasks
    assert [r["task_id"] for r in csv_rows(client.get("/tasks/export.csv"))] == alice_tasks
    bob_page = client_for(bob).get("/tasks/")
    assert shown(bob_page) == [work["sub_task"], work["bobs_task"]] and "alice-agent" not in bob_page.content.decode()


def test_reviewers_and_compliance_read_every_task(client_for, rita, carol, work):
    for person in (rita, carol):
        client = client_for(person)
        assert set(shown(client.get("/tasks/"))) == _all(work)
        assert {r["task_id"] for r in csv_rows(client.get("/tasks/export.csv"))} == _all(work)
        assert client.get(f"/api/v1/tasks/{work['crm_task']}/").status_code == 200
        # Reading is all the list offers: no POST on it.
        assert client.post("/tasks/").status_code == 405
    carol_ends = client_for(carol).post(f"/api/v1/tasks/{work['crm_task']}/end/", {}, content_type="application/json")
    assert carol_ends.status_code == 403 and Task.objects.get(pk=work["crm_task"]).ended_at is None


def test_an_outsider_sees_none_and_learns_nothing(client_for, charlie, work):
    client = client_for(charlie)
    alices = work["alices"].identity
    for query in ({}, {"identity": "alice-agent"}, {"identity": str(alices.pk)}, {"q": "runbook"}, {"crossing": "true"}):
        response = client.get("/tasks/", query)
        page = response.content.decode()
        assert shown(response) == [] and "tasks</p>" not in page and "runbook" not in page.replace(query.get("q", "-"), "")
        assert str(alices.pk) not in page.replace(query.get("identity", "-"), "") and work["crm_task"] not in page
        assert csv_rows(client.get("/tasks/export.csv", query)) == []
        api_query = {k: v for k, v in query.items() if k != "identity"} | ({"identity": str(alices.pk)} if "identity" in query else {})
        assert client.get("/api/v1/tasks/", api_query).json()["count"] == 0
    assert "No tasks yet" in client.get("/tasks/").content.decode()
    assert client.get(f"/api/v1/tasks/{work['crm_task']}/").status_code == 404
    assert client.get(f"/identities/{alices.pk}/tasks/").status_code == 404


def test_signed_out_people_are_sent_to_sign_in_and_programs_get_401(work):
    for url in ("/tasks/", "/tasks/export.csv"):
        response = Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Client().get("/api/v1/tasks/").status_code == 401
    assert Client().get(f"/api/v1/tasks/{work['crm_task']}/").status_code == 401


# Filters, the same on the page, its export and the API


def _filtered(client, query, api_query=None):
    """Rows of the page, its export and the API for one query, as sets of task ids."""
    page = set(shown(client.get("/tasks/", query)))
    exported = {r["task_id"] for r in csv_rows(client.get("/tasks/export.csv", query))}
    api = set(api_ids(client.get("/api/v1/tasks/", query if api_query is None else api_query)))
    assert page == exported == api, query
    return page


def test_each_filter_narrows_the_page_its_export_and_the_api_alike(client_for, sam, work):
    client = client_for(sam)
    alices, bobs = work["alices"].identity, work["bobs"].identity
    alice_tasks = {work["crm_task"], work["wiki_task"]}
    bob_tasks = {work["bobs_task"], work["sub_task"]}
    assert _filtered(client, {"identity": "ALICE-agent"}, {"identity": str(alices.pk)}) == alice_tasks
    assert _filtered(client, {"identity": str(bobs.pk)}) == bob_tasks
    assert _filtered(client, {"state": "ended"}) == {work["bobs_task"]}
    assert _filtered(client, {"state": "open"}) == _all(work) - {work["bobs_task"]}
    assert _filtered(client, {"service": work["wiki"].pk}) == {work["wiki_task"]}
    assert _filtered(client, {"q": "RUNBOOK"}) == {work["wiki_task"]}
    assert _filtered(client, {"autonomy": "autonomous"}) == alice_tasks
    assert _filtered(client, {"autonomy": "supervised"}) == bob_tasks
    assert _filtered(client, {"crossing": "true"}) == {work["wiki_task"]}
    assert _filtered(client, {"crossing": "false"}) == _all(work) - {work["wiki_task"]}
    # An approval covers the task and the sub-task exchanged from it.
    assert _filtered(client, {"without_approval": "true"}) == alice_tasks
    assert _filtered(client, {"without_approval": "false"}) == bob_tasks
    assert _filtered(client, {"autonomy": "autonomous", "without_approval": "true", "state": "open"}) == alice_tasks


def test_filters_narrow_only_what_an_owner_sees(client_for, bob, charlie, work):
    assert _filtered(client_for(bob), {"crossing": "true"}) == set()
    assert _filtered(client_for(bob), {"without_approval": "false"}) == {work["bobs_task"], work["sub_task"]}
    for query in ({"autonomy": "autonomous"}, {"without_approval": "true"}, {"state": "open"}):
        assert _filtered(client_for(charlie), query) == set()


def test_since_and_until_pick_days_on_the_page_and_instants_on_the_api(client_for, sam, work):
    Task.objects.filter(pk=work["crm_task"]).update(opened_at=timezone.now() - timedelta(days=40))
    client = client_for(sam)
    today = timezone.localdate()
    recent = _all(work) - {work["crm_task"]}
    assert set(shown(client.get("/tasks/", {"since": (today - timedelta(days=30)).isoformat()}))) == recent
    assert shown(client.get("/tasks/", {"until": (today - timedelta(days=40)).isoformat()})) == [work["crm_task"]]  # that whole day
    cut = (timezone.now() - timedelta(days=1)).isoformat()
    # An instant (a compliance figure's link carries one) is taken by the page, its export and the API.
    assert _filtered(client, {"since": cut}) == recent
    assert _filtered(client, {"until": cut}) == {work["crm_task"]}
    refused = client.get("/api/v1/tasks/", {"since": today.isoformat()})  # a day is ambiguous to a program
    assert refused.status_code == 400 and "since" in refused.json()


@pytest.mark.parametrize("query", [
    {"since": "yesterday"}, {"until": "2026-02-30"}, {"service": "999999"}, {"service": "99999999999999999999999"},
    {"state": "paused"}, {"autonomy": "rogue"}, {"crossing": "maybe"}, {"without_approval": "yes"}, {"q": "x" * 201},
])
def test_a_bad_filter_is_a_400_next_to_its_field_never_a_500(client_for, sam, work, query):
    client = client_for(sam)
    [(name, _)] = query.items()
    page = client.get("/tasks/", query)
    assert page.status_code == 400
    assert re.search(rf'id="id_{name}"', page.content.decode()) and "Some filters are not valid" in page.content.decode()
    assert list(page.context["tasks"]) == []
    assert client.get("/tasks/export.csv", query).status_code == 400
    api = client.get("/api/v1/tasks/", query)
    assert api.status_code == 400 and name in api.json()


@pytest.mark.parametrize("query", [{"identity": "not-a-uuid"}, {"identity": ""}, {"state": ""}, {"crossing": ""}])
def test_the_api_refuses_a_malformed_or_empty_typed_filter_on_its_name(client_for, sam, work, query):
    response = client_for(sam).get("/api/v1/tasks/", query)
    assert response.status_code == 400 and list(response.json()) == list(query)


def test_an_unknown_task_id_is_a_404(client_for, sam, work):
    client = client_for(sam)
    assert client.get("/api/v1/tasks/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/api/v1/tasks/not-a-task/").status_code == 404


def test_the_export_defuses_cells_a_spreadsheet_would_run(client_for, sam, work):
    [row] = [r for r in csv_rows(client_for(sam).get("/tasks/export.csv")) if r["task_id"] == work["crm_task"]]
    assert row["intent"] == "'=Summarise open tickets" and row["identity"] == "alice-agent" and row["state"] == "open"
    assert row["tokens"] == "2" and row["autonomy"] == "autonomous" and row["audience"] == "https://crm.example.com"


def test_the_api_shows_each_task_with_its_facts(client_for, sam, work):
    detail = client_for(sam).get(f"/api/v1/tasks/{work['bobs_task']}/").json()
    assert detail["identity_name"] == "bob-agent" and detail["state"] == "ended" and detail["approval"] == "approved"
    assert detail["approved_by"] == "rita" and detail["service_id"] == work["crm"].pk and detail["sensitivity"] == 2
    assert len(detail["tokens"]) == 1 and "access_token" not in json.dumps(detail)


def test_the_api_documents_the_list_and_its_filters(client_for, sam):
    schema = client_for(sam).get("/api/schema/?format=json").json()
    listing = schema["paths"]["/api/v1/tasks/"]["get"]
    names = [p["name"] for p in listing["parameters"]]
    assert set(names) >= {"state", "identity", "service", "since", "until", "q", "autonomy", "crossing", "without_approval", "open", "approval", "page"}
    assert len(names) == len(set(names))
    assert "get" in schema["paths"]["/api/v1/tasks/{id}/"]
