"""The decision log: filterable, paginated, and only about identities the person can see."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from tokens.policy.engine import decision_record_refusal, policy_decide
from tokens.policy.models import PolicyDecision

from .conftest import issue_request, make_active


def listed(client, **params):
    page = client.get(reverse("policy:decision-list"), params)
    assert page.status_code == 200
    return [d.pk for d in page.context["decisions"]]


def test_owners_see_decisions_about_their_identities_only(client_for, alice, bob, agent, crm, make_identity):
    mine = policy_decide(issue_request(agent, crm)).decision_id
    bobs = make_active(make_identity(bob))
    theirs = policy_decide(issue_request(bobs, crm)).decision_id
    assert listed(client_for(alice)) == [mine]
    assert listed(client_for(bob)) == [theirs]


def test_readers_of_everything_see_all_decisions(client_for, rita, carol, sam, agent, crm):
    policy_decide(issue_request(agent, crm))
    decision_record_refusal(action="issue", identity=None, service=None, rule="portal:unknown-client", detail="", summary={})
    for person in (rita, carol, sam):
        assert len(listed(client_for(person))) == 2


def test_it_filters_by_identity_service_decision_action_mode_and_date(client_for, rita, alice, agent, crm, make_service, make_identity):
    other_service = make_service(alice)
    other_identity = make_active(make_identity(alice))
    allowed = policy_decide(issue_request(agent, crm)).decision_id
    denied = policy_decide(issue_request(agent, crm, requested_ttl=3600)).decision_id
    elsewhere = policy_decide(issue_request(agent, other_service, action="exchange")).decision_id
    someone_else = policy_decide(issue_request(other_identity, crm)).decision_id
    old = policy_decide(issue_request(agent, crm)).decision_id
    PolicyDecision.objects.filter(pk=old).update(at=timezone.now() - timedelta(days=10))
    client = client_for(rita)
    assert set(listed(client, identity=str(agent.pk))) == {allowed, denied, elsewhere, old}
    assert set(listed(client, identity=f"  {agent.name.upper()} ")) == {allowed, denied, elsewhere, old}  # by name, any case
    assert set(listed(client, identity="no-such-agent")) == set()
    assert set(listed(client, service=other_service.pk)) == {elsewhere}
    assert set(listed(client, decision="deny")) == {denied}
    assert set(listed(client, action="exchange")) == {elsewhere}
    assert set(listed(client, mode="log_only")) == set()
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert old not in listed(client, since=since)
    assert someone_else in listed(client, since=since)


def test_it_reports_bad_filters_instead_of_failing(client_for, rita):
    page = client_for(rita).get(reverse("policy:decision-list"), {"identity": "x" * 201, "since": "yesterday"})
    assert page.status_code == 200 and set(page.context["filter"].errors) == {"identity", "since"}


def test_it_paginates(settings, client_for, rita, agent, crm):
    settings.NHI = {**settings.NHI, "PAGE_SIZE": 2}
    for _ in range(3):
        policy_decide(issue_request(agent, crm))
    client = client_for(rita)
    assert len(listed(client)) == 2 and len(listed(client, page=2)) == 1
    assert client.get(reverse("policy:decision-list"), {"page": 9}).status_code == 404


def test_the_decision_page_shows_which_policy_said_no(client_for, alice, agent, crm):
    denied = policy_decide(issue_request(agent, crm, requested_ttl=3600))
    page = client_for(alice).get(reverse("policy:decision-detail", args=[denied.decision_id]))
    assert page.status_code == 200
    assert b"forbid-ttl-above-ceiling" in page.content and b"requested_ttl" in page.content
    heading = f"<h1>Decision #{denied.decision_id}: token request by {agent.name} "
    assert heading.encode() in page.content and b": issue by" not in page.content


def test_the_decision_pages_name_themselves_as_the_menu_does(client_for, alice, agent, crm):
    decision = policy_decide(issue_request(agent, crm)).decision_id
    client = client_for(alice)
    listing = client.get(reverse("policy:decision-list")).content.decode()
    assert "<title>Decisions · NHI Portal</title>" in listing and "<h1>Decisions</h1>" in listing
    assert '<div class="crumbs">Decisions</div>' in listing
    detail = client.get(reverse("policy:decision-detail", args=[decision])).content.decode()
    assert f"<title>Decision #{decision} · NHI Portal</title>" in detail
    assert f'<div class="crumbs"><a href="{reverse("policy:decision-list")}">Decisions</a> / #{decision}</div>' in detail
    assert f"<h1>Decision #{decision}: " in detail


def test_an_outsider_cannot_open_a_decision(client_for, charlie, bob, agent, crm):
    decision = policy_decide(issue_request(agent, crm)).decision_id
    assert client_for(charlie).get(reverse("policy:decision-detail", args=[decision])).status_code == 403
    assert client_for(bob).get(reverse("policy:decision-detail", args=[decision])).status_code == 404


def exported(client, **params) -> list[list[str]]:
    import csv
    import io

    response = client.get(reverse("policy:decision-export"), params)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="decisions.csv"' in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_log_exports_as_csv_with_its_filters_and_only_what_the_person_sees(client_for, rita, alice, bob, agent, crm, make_identity):
    policy_decide(issue_request(agent, crm))
    denied = policy_decide(issue_request(agent, crm, requested_ttl=3600)).decision_id
    policy_decide(issue_request(make_active(make_identity(bob, name="bobs-agent")), crm))
    decision_record_refusal(action="issue", identity=agent, service=crm, rule="portal:rate-limit", detail="=HYPERLINK(\"x\")", summary={})

    rows = exported(client_for(rita))
    assert rows[0][:6] == ["at", "action", "identity_id", "identity", "service", "decision"]
    assert len(rows) == 1 + 4
    assert {row[3] for row in rows[1:]} == {agent.name, "bobs-agent"}
    refusal = next(row for row in rows[1:] if row[8] == "portal:rate-limit")
    assert refusal[9].startswith("'=")  # a formula in a cell is defused for spreadsheets

    denials = exported(client_for(rita), decision="deny", action="issue")
    assert PolicyDecision.objects.get(pk=denied).at.isoformat() in {row[0] for row in denials[1:]}
    assert all(row[5] == "deny" for row in denials[1:])
    assert {row[3] for row in exported(client_for(alice))[1:]} == {agent.name}  # hers only
    page = client_for(rita).get(reverse("policy:decision-list"), {"decision": "deny", "page": 1}).content.decode()
    assert 'href="/policy/decisions/export.csv?decision=deny"' in page  # the filters shown, every page


def test_the_export_refuses_bad_filters_and_outsiders(client_for, rita, charlie):
    assert client_for(rita).get(reverse("policy:decision-export"), {"since": "yesterday"}).status_code == 400
    assert client_for(charlie).get(reverse("policy:decision-export")).status_code == 403
