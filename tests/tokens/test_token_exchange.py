import jwt
import pytest

from nhiportal.audit.models import AuditEvent
from tokens.delegations import delegation_create
from tokens.models import IssuedToken, Task
from tokens.revocation import token_revoke
from tokens.services import service_create

from .conftest import ASSERTION_TYPE, CRM

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"


def exchange(client, agent, subject_token, **params):
    data = {
        "grant_type": EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": ACCESS_TOKEN,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": agent.assertion(),
    }
    data.update(params)
    return client.post("/oauth/token", {k: v for k, v in data.items() if v is not None})


def unverified(token):
    return jwt.decode(token, options={"verify_signature": False})


@pytest.fixture
def held(agent, get_token):
    return get_token(agent, scope="tickets:read tickets:write", ttl="600")


def test_it_narrows_a_token_into_a_sub_task(agent, oauth, held):
    response = exchange(oauth, agent, held["access_token"], scope="tickets:read", ttl="60")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["issued_token_type"] == ACCESS_TOKEN and body["scope"] == "tickets:read"
    claims = unverified(body["access_token"])
    parent_claims = unverified(held["access_token"])
    assert "act" not in claims  # its own token: no one acts for another (RFC 8693 section 4.1)
    assert claims["exp"] <= parent_claims["exp"] and body["expires_in"] <= 60
    child = IssuedToken.objects.get(jti=claims["jti"])
    assert child.parent.jti == parent_claims["jti"]
    subtask = Task.objects.get(pk=claims["task_id"])
    assert str(subtask.parent_id) == held["task_id"]
    assert AuditEvent.objects.filter(action="token.exchange").count() == 1


def test_narrowing_its_own_token_again_and_again_names_no_actor(agent, oauth, held):
    # act says who acts for the subject (RFC 8693 section 4.1). An agent narrowing its own
    # token acts for itself: no act claim, and no chain of itself nested in itself.
    once = exchange(oauth, agent, held["access_token"], scope="tickets:read").json()["access_token"]
    twice = exchange(oauth, agent, once).json()["access_token"]
    for token in (once, twice):
        claims = unverified(token)
        assert "act" not in claims and claims["sub"] == claims["client_id"] == agent.client_id


def test_a_helper_narrowing_the_token_it_got_for_another_keeps_the_act_chain_as_it_is(agent, make_agent, oauth, held, crm, grant, alice):
    helper = make_agent()
    grant(helper, crm, ["tickets:read"])
    delegation_create(actor=alice, principal=agent.identity, delegate_id=helper.identity.pk, reason="Triage helper")
    lent = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()["access_token"]
    narrowed = exchange(oauth, helper, lent, ttl="60")
    assert narrowed.status_code == 200, narrowed.content
    claims = unverified(narrowed.json()["access_token"])
    # Still the helper acting for the agent: the same single level as the token it narrowed.
    assert claims["sub"] == agent.client_id and claims["client_id"] == helper.client_id
    assert claims["act"] == unverified(lent)["act"] == {"sub": helper.client_id}


def test_it_defaults_to_the_subject_tokens_scopes_and_audience(agent, oauth, held):
    body = exchange(oauth, agent, held["access_token"]).json()
    assert body["scope"] == "tickets:read tickets:write" and unverified(body["access_token"])["aud"] == CRM


def test_it_never_outlives_the_subject_token(agent, oauth, held):
    body = exchange(oauth, agent, held["access_token"], ttl="5000").json()
    assert unverified(body["access_token"])["exp"] <= unverified(held["access_token"])["exp"]


def test_it_refuses_broader_scopes(agent, oauth, get_token):
    narrow = get_token(agent, scope="tickets:read")
    response = exchange(oauth, agent, narrow["access_token"], scope="tickets:write")
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_it_moves_to_another_audience_only_with_a_grant_there(agent, oauth, held, sam, grant):
    wiki = service_create(actor=sam, name="Wiki", audience="https://wiki.example.com", owner=sam, scopes=["tickets:read"])
    refused = exchange(oauth, agent, held["access_token"], audience=wiki.audience, scope="tickets:read")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_target"

    grant(agent, wiki, ["tickets:read"])
    moved = exchange(oauth, agent, held["access_token"], audience=wiki.audience, scope="tickets:read")
    assert moved.status_code == 200 and unverified(moved.json()["access_token"])["aud"] == wiki.audience


def test_it_refuses_a_more_sensitive_sub_task(agent, oauth, held):
    details = '[{"type": "agent_task", "intent": "dig deeper", "sensitivity": "confidential"}]'
    response = exchange(oauth, agent, held["access_token"], authorization_details=details)
    assert response.json()["error"] == "invalid_authorization_details"


def test_a_sub_task_that_says_nothing_of_its_data_keeps_its_tasks_sensitivity(agent, oauth, get_token):
    public = '[{"type": "agent_task", "intent": "read the public FAQ", "sensitivity": "public"}]'
    held = get_token(agent, scope="tickets:read", authorization_details=public)
    silent = exchange(oauth, agent, held["access_token"], authorization_details='[{"type": "agent_task", "intent": "summarise it"}]')
    assert silent.status_code == 200, silent.content
    assert Task.objects.get(pk=unverified(silent.json()["access_token"])["task_id"]).get_sensitivity_display() == "Public"

    # Else saying nothing would be the step to a sub-task declaring more than its task did.
    internal = '[{"type": "agent_task", "intent": "dig deeper", "sensitivity": "internal"}]'
    response = exchange(oauth, agent, silent.json()["access_token"], authorization_details=internal)
    assert response.status_code == 400 and response.json()["error"] == "invalid_authorization_details"


def test_it_refuses_another_clients_token(agent, make_agent, oauth, held, crm, grant):
    thief = make_agent()
    grant(thief, crm, ["tickets:read"])
    response = exchange(oauth, thief, held["access_token"], scope="tickets:read")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_it_refuses_a_revoked_subject_token(agent, oauth, held, alice):
    token_revoke(token=IssuedToken.objects.get(), actor=alice)
    response = exchange(oauth, agent, held["access_token"])
    assert response.json()["error"] == "invalid_request"


def test_revoking_the_parent_revokes_the_children(agent, oauth, held, alice):
    child = exchange(oauth, agent, held["access_token"], scope="tickets:read").json()["access_token"]
    grandchild = exchange(oauth, agent, child).json()["access_token"]

    parent_row = IssuedToken.objects.get(jti=unverified(held["access_token"])["jti"])
    assert token_revoke(token=parent_row, actor=alice, reason="Done").tokens == 3

    for token in (child, grandchild):
        row = IssuedToken.objects.get(jti=unverified(token)["jti"])
        assert row.revoked_at is not None and row.revoked_by_label == "alice"


def test_it_refuses_a_wrong_subject_token_type(agent, oauth, held):
    response = exchange(oauth, agent, held["access_token"], subject_token_type="urn:ietf:params:oauth:token-type:id_token")
    assert response.json()["error"] == "invalid_request"
