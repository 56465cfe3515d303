"""The identity page's one-way actions (disable a credential, end a task, revoke a token, end a
delegation) each confirm on a page of their own that counts what they take; the button there does it."""

import re

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext

from nhiportal.audit.models import AuditEvent
from tokens.credentials import credential_add_jwk
from tokens.delegations import delegation_create
from tokens.ending_previews import credential_disabling
from tokens.models import Delegation, IssuedToken, Task, WorkloadCredential
from tokens.services import SELF_GRANT

from .conftest import new_private_key, public_jwk
from .test_token_exchange import exchange, unverified


def told(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def disable_url(identity, credential):
    return f"/identities/{identity.pk}/credentials/{credential.pk}/disable/"


def end_url(identity, task_pk):
    return f"/identities/{identity.pk}/tasks/{task_pk}/end/"


def revoke_url(identity, token):
    return f"/identities/{identity.pk}/tokens/{token.pk}/revoke/"


def delegation_url(identity, delegation):
    return f"/identities/{identity.pk}/delegations/{delegation.pk}/revoke/"


@pytest.fixture
def held(oauth, agent, get_token):
    """A task with a token, and a sub-task the agent opened by exchanging it (a token exchanged from it)."""
    held = get_token(agent, scope="tickets:read tickets:write", ttl="600")
    narrowed = exchange(oauth, agent, held["access_token"], scope="tickets:read")
    assert narrowed.status_code == 200, narrowed.content
    return held


@pytest.fixture
def helper(make_agent, bob, crm, grant):
    helper = make_agent(bob, name="helper")
    grant(helper, crm, ["tickets:read"])
    return helper


@pytest.fixture
def lent(agent, helper, alice):
    return delegation_create(actor=alice, principal=agent.identity, delegate_id=helper.identity.pk, reason="Triage helper")


def test_disabling_the_last_credential_asks_first_and_says_the_agent_gets_no_token(client_for, alice, agent, get_token):
    get_token(agent)
    get_token(agent)
    credential = WorkloadCredential.objects.get()
    client = client_for(alice)

    page = client.get(disable_url(agent.identity, credential))

    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="last-credential"' in html and "last enabled credential" in html and "gets no token at all" in html
    assert "2 live tokens</strong> are revoked: those obtained with it" in html
    assert 'name="reason"' in html and "csrfmiddlewaretoken" in html
    credential.refresh_from_db()
    assert credential.enabled and IssuedToken.objects.filter(revoked_at__isnull=True).count() == 2
    assert not AuditEvent.objects.filter(action="credential.disable").exists()

    done = client.post(disable_url(agent.identity, credential), {"reason": "Key found in a CI log"})

    assert done.status_code == 302 and done["Location"] == f"/identities/{agent.identity.pk}/#credentials"
    credential.refresh_from_db()
    assert not credential.enabled and credential.disable_reason == "Key found in a CI log"
    assert not IssuedToken.objects.filter(revoked_at__isnull=True).exists()
    [message] = told(done)
    assert "2 tokens obtained with it revoked" in message and "has no enabled credential now" in message
    assert AuditEvent.objects.filter(action="credential.disable", reason="Key found in a CI log").count() == 1


def test_disabling_one_of_two_credentials_says_the_other_still_works(client_for, alice, agent):
    credential = WorkloadCredential.objects.get()
    credential_add_jwk(actor=alice, identity=agent.identity, jwk=public_jwk(new_private_key()), label="new key")

    html = client_for(alice).get(disable_url(agent.identity, credential)).content.decode()

    assert 'id="last-credential"' not in html
    assert "1 other enabled credential stays" in html and "no live token obtained with it (or exchanged from one) to revoke" in html
    done = client_for(alice).post(disable_url(agent.identity, credential))
    assert "no enabled credential" not in told(done)[0]
    assert WorkloadCredential.objects.get(pk=credential.pk).disable_reason == "Disabled by an owner."


def test_ending_a_task_counts_its_sub_tasks_and_every_token_it_takes(client_for, alice, agent, held):
    client = client_for(alice)
    html = client.get(end_url(agent.identity, held["task_id"])).content.decode()
    assert "1 open sub-task</strong> ends with it;" in html  # the agent's own exchange: no delegate's
    assert "2 live tokens</strong> are revoked" in html
    assert Task.objects.filter(ended_at__isnull=True).count() == 2

    done = client.post(end_url(agent.identity, held["task_id"]), {"reason": "Runaway loop"})

    assert done.status_code == 302 and done["Location"] == f"/identities/{agent.identity.pk}/#access"
    assert told(done) == ["Ended the task; 2 tokens revoked."]  # what the page counted
    assert AuditEvent.objects.get(action="task.end").after["subtasks_ended"] == 1  # and the event too
    assert not Task.objects.filter(ended_at__isnull=True).exists()
    assert Task.objects.get(pk=held["task_id"]).end_reason == "Runaway loop"


def test_revoking_a_token_counts_what_was_exchanged_from_it_and_leaves_its_task_open(client_for, alice, agent, held):
    token = IssuedToken.objects.get(jti=unverified(held["access_token"])["jti"])
    client = client_for(alice)
    html = client.get(revoke_url(agent.identity, token)).content.decode()
    assert "1 other live token</strong>, exchanged from it or in those sub-tasks, is revoked too" in html
    assert "its task stays open" in html

    done = client.post(revoke_url(agent.identity, token), {"reason": "Leaked in a log"})

    assert done.status_code == 302 and done["Location"] == f"/identities/{agent.identity.pk}/#access"
    assert told(done) == ["Revoked 2 tokens; 1 sub-task opened by exchanging it ended."]  # what the page counted
    assert not IssuedToken.objects.filter(revoked_at__isnull=True).exists()
    assert Task.objects.get(pk=held["task_id"]).ended_at is None
    token.refresh_from_db()
    assert token.revoke_reason == "Leaked in a log" and token.revoked_by_label == "alice"


def test_ending_a_delegation_counts_what_the_delegate_got_acting_for_it(client_for, oauth, alice, agent, helper, held, lent):
    assert exchange(oauth, helper, held["access_token"], scope="tickets:read").status_code == 200
    client = client_for(alice)
    html = client.get(delegation_url(agent.identity, lent)).content.decode()
    assert "Triage helper" in html and "”.</p>" not in html
    ending_the_task = client.get(end_url(agent.identity, held["task_id"])).content.decode()
    assert "2 open sub-tasks</strong> end with it (1 of them a delegate's, acting for it)" in ending_the_task  # its own and the helper's
    assert f"1 open sub-task</strong> it opened under {agent.identity.name}'s tasks ends" in html
    assert f"1 live token</strong> is revoked: those it got acting for {agent.identity.name}" in html
    assert Delegation.objects.get().revoked_at is None

    done = client.post(delegation_url(agent.identity, lent), {"reason": "Pilot over"})

    assert done.status_code == 302 and done["Location"] == f"/identities/{agent.identity.pk}/#access"
    lent.refresh_from_db()
    assert lent.revoked_at is not None and lent.revoke_reason == "Pilot over"
    assert told(done) == [f"The identity {lent.delegate_id} no longer acts for {agent.identity.name}; 1 token revoked."]


def test_an_over_long_reason_is_refused_next_to_the_field_and_nothing_ends(client_for, alice, agent, held, lent):
    token = IssuedToken.objects.get(jti=unverified(held["access_token"])["jti"])
    credential = WorkloadCredential.objects.get(identity=agent.identity)
    client = client_for(alice)
    for url in (
        disable_url(agent.identity, credential), end_url(agent.identity, held["task_id"]),
        revoke_url(agent.identity, token), delegation_url(agent.identity, lent),
    ):
        response = client.post(url, {"reason": "x" * 201})
        assert response.status_code == 400, url
        assert "Ensure this value has at most 200 characters" in response.context["form"].errors["reason"][0]
        assert 'id="id_reason_error"' in response.content.decode()
    assert WorkloadCredential.objects.get(pk=credential.pk).enabled
    assert not Task.objects.filter(ended_at__isnull=False).exists()
    assert not IssuedToken.objects.filter(revoked_at__isnull=False).exists()
    assert Delegation.objects.get().revoked_at is None


def test_what_has_ended_already_is_told_not_refused(client_for, alice, agent, held, lent):
    token = IssuedToken.objects.get(jti=unverified(held["access_token"])["jti"])
    credential = WorkloadCredential.objects.get(identity=agent.identity)
    client = client_for(alice)
    client.post(disable_url(agent.identity, credential))
    client.post(end_url(agent.identity, held["task_id"]))
    client.post(delegation_url(agent.identity, lent))
    for url, message in (
        (disable_url(agent.identity, credential), "is disabled already"),
        (end_url(agent.identity, held["task_id"]), "This task has ended already."),
        (revoke_url(agent.identity, token), "This token is revoked already."),
        (delegation_url(agent.identity, lent), "This delegation has ended already."),
    ):
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, url
            assert message in told(response)[-1], url
    assert AuditEvent.objects.filter(action__in=["credential.disable", "task.end", "delegation.revoke"]).count() == 3


def test_an_expired_token_has_nothing_to_revoke(client_for, alice, agent, get_token):
    get_token(agent)
    token = IssuedToken.objects.get()
    IssuedToken.objects.filter(pk=token.pk).update(expires_at=token.issued_at)
    response = client_for(alice).get(revoke_url(agent.identity, token))
    assert response.status_code == 302 and told(response) == ["This token has expired already: nothing to revoke."]


def test_outsiders_get_404_and_read_only_roles_403_on_every_confirmation(client_for, charlie, rita, carol, agent, held, lent):
    token = IssuedToken.objects.get(jti=unverified(held["access_token"])["jti"])
    credential = WorkloadCredential.objects.get(identity=agent.identity)
    urls = (
        disable_url(agent.identity, credential), end_url(agent.identity, held["task_id"]),
        revoke_url(agent.identity, token), delegation_url(agent.identity, lent),
    )
    for person, status in ((charlie, 404), (rita, 403), (carol, 403)):
        client = client_for(person)
        for url in urls:
            assert client.get(url).status_code == status, (person, url)
            assert client.post(url, {"reason": "x"}).status_code == status, (person, url)
    assert agent.identity.name.encode() not in client_for(charlie).get(urls[0]).content
    assert WorkloadCredential.objects.get(pk=credential.pk).enabled
    assert not Task.objects.filter(ended_at__isnull=False).exists()
    assert not IssuedToken.objects.filter(revoked_at__isnull=False).exists()
    assert Delegation.objects.get().revoked_at is None


def test_another_identitys_task_is_404_under_this_one(client_for, alice, agent, make_agent, get_token):
    theirs = get_token(make_agent(name="other"))
    assert client_for(alice).get(end_url(agent.identity, theirs["task_id"])).status_code == 404
    assert client_for(alice).post(end_url(agent.identity, theirs["task_id"])).status_code == 404
    assert Task.objects.get(pk=theirs["task_id"]).ended_at is None


def test_the_panels_link_to_the_confirmations_instead_of_acting_in_one_click(client_for, alice, agent, held, lent):
    token = IssuedToken.objects.get(jti=unverified(held["access_token"])["jti"])
    credential = WorkloadCredential.objects.get(identity=agent.identity)
    client = client_for(alice)
    credentials = client.get(f"/identities/{agent.identity.pk}/credentials-panel/").content.decode()
    access = client.get(f"/identities/{agent.identity.pk}/access-panel/").content.decode()
    assert f'href="{disable_url(agent.identity, credential)}">Disable…</a>' in credentials
    assert f'href="{end_url(agent.identity, held["task_id"])}">End task…</a>' in access
    assert f'href="{revoke_url(agent.identity, token)}">Revoke…</a>' in access
    assert f'href="{delegation_url(agent.identity, lent)}">End…</a>' in access
    for url in (disable_url(agent.identity, credential), end_url(agent.identity, held["task_id"]),
                revoke_url(agent.identity, token), delegation_url(agent.identity, lent)):
        assert f'action="{url}"' not in credentials + access


def test_a_security_admin_who_owns_the_identity_is_told_whom_to_ask_instead_of_a_grant_link(client_for, sam, alice, make_identity):
    own = make_identity(sam)
    panel = client_for(sam).get(f"/identities/{own.pk}/access-panel/").content.decode()
    assert "/grants/new/" not in panel and SELF_GRANT in panel
    others = client_for(sam).get(f"/identities/{make_identity(alice).pk}/access-panel/").content.decode()
    assert "/grants/new/" in others and SELF_GRANT not in others


def test_a_busy_credentials_preview_asks_the_same_questions_however_many_tokens_it_counts(alice, agent, held, get_token):
    # Ids listed in the queries would outgrow PostgreSQL's 65,535 bind parameters for a busy credential.
    credential = WorkloadCredential.objects.get()
    with CaptureQueriesContext(connection) as few:
        assert credential_disabling(credential)["tokens"] == 2
    issued = IssuedToken.objects.get(parent__isnull=True)
    IssuedToken.objects.bulk_create([IssuedToken(**{
        field.attname: getattr(issued, field.attname) for field in IssuedToken._meta.concrete_fields if not field.primary_key
    } | {"jti": f"busy-{n}"}) for n in range(300)])

    with CaptureQueriesContext(connection) as many:
        assert credential_disabling(credential)["tokens"] == 302

    def asked(queries):  # the same queries but for the time they ran, and the savepoints' names
        return [
            re.sub(r'"s\d+_x\d+"', "savepoint", re.sub(r"'\d{4}-\d\d-\d\d[^']*'", "now", query["sql"]))
            for query in queries.captured_queries
        ]

    assert asked(many) == asked(few)
