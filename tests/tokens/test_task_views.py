"""An identity's whole task history, a page at a time, beyond the latest ten its access panel
shows: open or ended, with intent, service, times, who ended it, tokens, sub-task marker."""

import re

from tokens.models import Task
from tokens.revocation import task_end
from tokens.services import service_create

from .test_token_exchange import exchange


def url(agent) -> str:
    return f"/identities/{agent.identity.pk}/tasks/"


def test_it_pages_through_every_task_of_an_identity(client_for, alice, agent, get_token):
    for _ in range(27):
        get_token(agent)
    client = client_for(alice)
    first = client.get(url(agent))
    assert first.status_code == 200 and first.context["page_obj"].paginator.count == 27
    assert len(first.context["tasks"]) == 25 and "27 tasks" in first.content.decode()
    second = client.get(url(agent), {"page": 2})
    assert len(second.context["tasks"]) == 2
    shown = {t.pk for t in first.context["tasks"]} | {t.pk for t in second.context["tasks"]}
    assert shown == set(Task.objects.filter(identity=agent.identity).values_list("pk", flat=True))


def test_the_access_panel_links_to_it(client_for, alice, agent, get_token):
    for _ in range(11):
        get_token(agent)
    panel = client_for(alice).get(f"/identities/{agent.identity.pk}/access-panel/").content.decode()
    assert "Showing the latest 10 of 11 tasks." in panel and f'href="{url(agent)}"' in panel


def test_each_row_says_what_who_and_how_many_tokens(client_for, alice, oauth, agent, get_token):
    token = get_token(agent, scope="tickets:read tickets:write")["access_token"]
    assert exchange(oauth, agent, token, scope="tickets:read").status_code == 200
    task, sub_task = Task.objects.get(parent__isnull=True), Task.objects.get(parent__isnull=False)
    task_end(task=task, actor=alice, reason="done for today")
    page = client_for(alice).get(url(agent))
    html = page.content.decode()
    assert "Summarise open tickets" in html and "CRM" in html
    assert "ended by alice" in html and "done for today" in html
    assert html.count(">sub-task</span>") == 1 and str(sub_task.pk) in html
    assert {t.pk: t.token_count for t in page.context["tasks"]} == {task.pk: 1, sub_task.pk: 1}


def test_it_filters_open_and_ended_tasks_and_keeps_the_filter_across_pages(client_for, alice, sam, agent, get_token):
    for _ in range(27):
        get_token(agent)
    ended = Task.objects.filter(identity=agent.identity).order_by("opened_at").first()
    task_end(actor=alice, task=ended, reason="finished")
    client = client_for(sam)
    open_page = client.get(url(agent), {"state": "open"})
    assert open_page.context["page_obj"].paginator.count == 26
    link = re.search(r'<a href="([^"]+)" rel="next">', open_page.content.decode()).group(1).replace("&amp;", "&")
    assert link == "?state=open&page=2"
    only_ended = client.get(url(agent), {"state": "ended"})
    assert [t.pk for t in only_ended.context["tasks"]] == [ended.pk]
    assert "ended by alice" in only_ended.content.decode() and "Clear filters" in only_ended.content.decode()
    assert client.get(url(agent), {"state": "sometimes"}).status_code == 400


def test_an_outsider_gets_a_404_and_learns_nothing(client_for, bob, charlie, agent, get_token):
    get_token(agent)
    for person in (bob, charlie):
        response = client_for(person).get(url(agent))
        assert response.status_code == 404 and agent.identity.name.encode() not in response.content
    assert client_for(bob).get("/identities/00000000-0000-0000-0000-000000000000/tasks/").status_code == 404


def test_compliance_reads_it(client_for, carol, agent, get_token):
    get_token(agent)
    assert client_for(carol).get(url(agent)).status_code == 200


def _offered_services(page) -> list[str]:
    return [choice.choice_label for choice in page.context["filters"].filter.form["service"] if choice.data["value"]]


def test_the_service_filter_offers_only_services_the_identity_has_tasks_on(client_for, sam, alice, agent, get_token):
    service_create(actor=sam, name="Wiki", audience="https://wiki.example.com", owner=sam, trust_boundary="corp-internal", scopes=["pages:read"])
    get_token(agent)
    page = client_for(alice).get(url(agent))
    assert _offered_services(page) == ["CRM"]
    assert "Wiki" not in page.content.decode()


def test_the_service_filter_keeps_the_selected_service_even_without_tasks_on_it(client_for, sam, alice, agent, get_token):
    wiki = service_create(actor=sam, name="Wiki", audience="https://wiki.example.com", owner=sam, trust_boundary="corp-internal", scopes=["pages:read"])
    get_token(agent)
    page = client_for(alice).get(url(agent), {"service": wiki.pk})
    assert page.status_code == 200 and _offered_services(page) == ["CRM", "Wiki"]
    assert f'<option value="{wiki.pk}" selected>Wiki</option>' in page.content.decode()
    assert list(page.context["tasks"]) == [] and "No tasks match these filters" in page.content.decode()


def test_an_unknown_service_is_a_400_with_the_error_next_to_the_field(client_for, alice, agent, get_token, crm):
    get_token(agent)
    page = client_for(alice).get(url(agent), {"service": crm.pk + 1000})
    assert page.status_code == 400
    assert "Select a valid choice" in page.context["filters"].filter.form.errors["service"][0]
    assert "Some filters are not valid" in page.content.decode()
    for odd in ("crm", "²", "9" * 30):
        assert client_for(alice).get(url(agent), {"service": odd}).status_code == 400
