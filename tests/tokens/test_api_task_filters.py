"""tasks/?open=true|false: each value filters, whichever is sent."""

from tokens.models import Task
from tokens.revocation import task_end

API = "/api/v1/tasks/"


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_it_lists_only_the_ended_tasks_with_open_false(client_for, alice, agent, get_token):
    get_token(agent)
    get_token(agent)
    ended, still_open = Task.objects.order_by("opened_at")
    task_end(task=ended, actor=alice, reason="done")
    client = client_for(alice)
    assert ids(client.get(API, {"open": "false"})) == {str(ended.pk)}
    assert ids(client.get(API, {"open": "true"})) == {str(still_open.pk)}
    assert ids(client.get(API)) == {str(ended.pk), str(still_open.pk)}


def test_an_outsider_sees_no_task_either_way(client_for, charlie, alice, agent, get_token):
    get_token(agent)
    task_end(task=Task.objects.get(), actor=alice, reason="done")
    assert ids(client_for(charlie).get(API, {"open": "false"})) == set()
