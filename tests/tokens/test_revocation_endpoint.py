import jwt

from nhiportal.audit.models import AuditEvent
from tokens.credentials import credential_add_jwk, credential_disable
from tokens.models import IssuedToken, Task, WorkloadCredential

from .conftest import ASSERTION_TYPE, new_private_key, public_jwk


def post(client, agent, url, endpoint, **data):
    data.update(client_assertion_type=ASSERTION_TYPE, client_assertion=agent.assertion(aud=f"http://testserver{endpoint}"))
    return client.post(url, data)


def revoke(client, agent, token):
    return post(client, agent, "/oauth/revoke", "/oauth/revoke", token=token)


def test_it_revokes_the_clients_own_token(agent, get_token, oauth):
    token = get_token(agent)["access_token"]

    response = revoke(oauth, agent, token)

    assert response.status_code == 200 and response.content == b""
    row = IssuedToken.objects.get()
    assert row.revoked_at is not None and row.revoked_by_label == f"agent:{agent.client_id}"
    assert AuditEvent.objects.filter(action="token.revoke", identity_id=agent.identity.pk).count() == 1


def test_it_answers_200_for_unknown_tokens(agent, oauth):
    assert revoke(oauth, agent, "not-a-token").status_code == 200
    assert revoke(oauth, agent, agent.assertion()).status_code == 200


def test_it_leaves_another_clients_token_alone(agent, make_agent, get_token, oauth):
    token = get_token(agent)["access_token"]
    other = make_agent()
    assert revoke(oauth, other, token).status_code == 200
    assert IssuedToken.objects.get().revoked_at is None


def test_it_needs_client_authentication(agent, get_token, oauth):
    token = get_token(agent)["access_token"]
    response = oauth.post("/oauth/revoke", {"token": token})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert IssuedToken.objects.get().revoked_at is None


def test_the_agent_ends_its_task_and_every_token_of_it(agent, get_token, oauth):
    first = get_token(agent)
    get_token(agent, task_id=first["task_id"], authorization_details=None)
    other_task = get_token(agent)

    response = post(oauth, agent, "/oauth/task/end", "/oauth/task/end", task_id=first["task_id"])

    assert response.status_code == 200
    assert response.json()["tokens_revoked"] == 2
    assert Task.objects.get(pk=first["task_id"]).ended_at is not None
    assert IssuedToken.objects.filter(revoked_at__isnull=True).get().task_id.hex == other_task["task_id"].replace("-", "")
    assert AuditEvent.objects.filter(action="task.end").get().actor_label == f"agent:{agent.client_id}"


def test_ending_a_task_ends_its_sub_tasks(agent, get_token, oauth):
    held = get_token(agent)
    exchanged = oauth.post(
        "/oauth/token",
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": held["access_token"],
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": agent.assertion(),
        },
    ).json()
    subtask_id = jwt.decode(exchanged["access_token"], options={"verify_signature": False})["task_id"]

    post(oauth, agent, "/oauth/task/end", "/oauth/token", task_id=held["task_id"])

    assert Task.objects.get(pk=subtask_id).ended_at is not None
    assert not IssuedToken.objects.filter(revoked_at__isnull=True).exists()


def test_an_agent_cannot_end_another_agents_task(agent, make_agent, get_token, oauth):
    theirs = get_token(agent)
    other = make_agent()
    response = post(oauth, other, "/oauth/task/end", "/oauth/task/end", task_id=theirs["task_id"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert Task.objects.get().ended_at is None


def test_ending_a_task_needs_client_authentication(agent, get_token, oauth):
    task_id = get_token(agent)["task_id"]
    assert oauth.post("/oauth/task/end", {"task_id": task_id}).status_code == 401
    assert Task.objects.get().ended_at is None


def test_the_audit_log_names_the_token_by_jti(agent, get_token, oauth):
    token = get_token(agent)["access_token"]
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    revoke(oauth, agent, token)
    assert set(AuditEvent.objects.filter(object_type="tokens.issuedtoken").values_list("action", "object_id")) == {
        ("token.issue", jti),
        ("token.revoke", jti),
    }


def test_a_disabled_credential_can_no_longer_revoke_or_end_tasks(agent, get_token, oauth, alice):
    held = get_token(agent)  # the credential has signed before: this process knows its key
    credential_disable(actor=alice, credential=WorkloadCredential.objects.get(kid=agent.kid), reason="Leaked")
    second = credential_add_jwk(actor=alice, identity=agent.identity, jwk=public_jwk(new_private_key(), kid="second"))
    assert second.enabled

    refused_revoke = revoke(oauth, agent, held["access_token"])
    refused_end = post(oauth, agent, "/oauth/task/end", "/oauth/task/end", task_id=held["task_id"])

    assert refused_revoke.status_code == 401 and refused_revoke.json()["error"] == "invalid_client"
    assert refused_end.status_code == 401 and refused_end.json()["error"] == "invalid_client"
    assert Task.objects.get().ended_by_label == "" and IssuedToken.objects.get().revoked_by_label == "alice"
