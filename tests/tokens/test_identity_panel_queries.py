"""The identity page's credentials and access panels ask a fixed number of questions, however
many credentials, tasks and tokens the identity has."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tokens.credentials import credential_add_jwk
from tokens.models import IssuedToken, Task

from .conftest import new_private_key, public_jwk


def queries(client, url) -> int:
    client.get(url)  # warm per-process caches (content types, the session)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def issue(agent, credential, crm, tasks, tokens_each=1):
    """Tasks of the agent, each with tokens obtained with the credential, as the ledger holds them."""
    now = timezone.now()
    for n in range(tasks):
        task = Task.objects.create(identity=agent.identity, service=crm, intent=f"job {n}", scopes=["tickets:read"])
        for k in range(tokens_each):
            IssuedToken.objects.create(
                jti=uuid.uuid4().hex, identity=agent.identity, task=task, credential=credential, audience=crm.audience,
                scopes=["tickets:read"], signing_kid="test", issued_at=now - timedelta(seconds=k),
                expires_at=now + timedelta(minutes=5),
            )


def add_keys(agent, count):
    return [
        credential_add_jwk(actor=agent.identity.ownerships.get().person, identity=agent.identity, jwk=public_jwk(new_private_key()))
        for _ in range(count)
    ]


@pytest.mark.parametrize("persona", ["alice", "carol", "sam"])
def test_the_credentials_panel_runs_as_many_queries_for_30_credentials_as_for_1(
    persona, request, make_agent, crm, client_for, django_assert_max_num_queries
):
    agent = make_agent()
    client = client_for(request.getfixturevalue(persona))
    panel = f"/identities/{agent.identity.pk}/credentials-panel/"
    issue(agent, agent.identity.credentials.get(), crm, 1)
    few = queries(client, panel)
    for credential in add_keys(agent, 29):
        issue(agent, credential, crm, 1)
    with django_assert_max_num_queries(few):
        response = client.get(panel)
    credentials = list(response.context["credentials"])
    assert len(credentials) == 30 and all(c.last_token_at for c in credentials)


@pytest.mark.parametrize("persona", ["alice", "carol", "sam"])
def test_the_access_panel_runs_as_many_queries_for_30_tasks_as_for_1(
    persona, request, make_agent, crm, client_for, django_assert_max_num_queries
):
    agent = make_agent()
    client = client_for(request.getfixturevalue(persona))
    panel = f"/identities/{agent.identity.pk}/access-panel/"
    credential = agent.identity.credentials.get()
    issue(agent, credential, crm, 1)
    few = queries(client, panel)
    issue(agent, credential, crm, 29, tokens_each=7)
    with django_assert_max_num_queries(few):
        response = client.get(panel)
    access = response.context["access"]
    assert access.task_count == 30 and len(access.tasks) == 10
    for task in access.tasks[:9]:  # the newest nine, with seven tokens each: their five latest
        assert task.token_count == 7 and task.recent_tokens == list(task.tokens.order_by("-issued_at")[:5])
