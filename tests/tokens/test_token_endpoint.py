import json
from datetime import timedelta

import jwt
import pytest
from django.utils import timezone

from inventory.services import identity_suspend
from nhiportal.audit.models import AuditEvent
from tokens.keys import verification_key
from tokens.models import IssuedToken, Task, UsedAssertion, WorkloadCredential
from tokens.policy.models import PolicyDecision
from tokens.revocation import task_end
from tokens.services import service_create

from .conftest import CRM, TASK, token_request


def claims_of(token: str) -> dict:
    header = jwt.get_unverified_header(token)
    alg, key = verification_key(header["kid"])
    return jwt.decode(token, key, algorithms=[alg], audience=CRM, issuer="http://testserver")


def test_it_issues_a_task_token_with_rfc9068_claims(agent, get_token):
    body = get_token(agent, scope="tickets:read tickets:write")

    header = jwt.get_unverified_header(body["access_token"])
    claims = claims_of(body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256"
    assert claims["sub"] == claims["client_id"] == agent.client_id
    assert claims["aud"] == CRM
    assert claims["scope"] == "tickets:read tickets:write"
    assert claims["exp"] - claims["iat"] == 900 == body["expires_in"]
    assert claims["authorization_details"][0]["intent"] == "Summarise open tickets"
    task = Task.objects.get(pk=claims["task_id"])
    assert task.identity_id == agent.identity.pk and task.is_open and task.scopes == ["tickets:read", "tickets:write"]
    row = IssuedToken.objects.get(jti=claims["jti"])
    assert row.task == task and row.audience == CRM and row.credential.kid == agent.kid
    assert body["token_type"] == "Bearer" and body["task_id"] == str(task.pk)


def test_it_never_stores_the_token_itself(agent, get_token):
    body = get_token(agent)

    row = IssuedToken.objects.get()
    assert body["access_token"] not in json.dumps([str(getattr(row, f.attname)) for f in row._meta.fields])
    event = AuditEvent.objects.get(action="token.issue")
    assert body["access_token"] not in json.dumps(event.after) and event.actor_label == f"agent:{agent.client_id}"


def test_it_answers_with_no_store(agent, get_token, oauth, crm, grant):
    grant(agent, crm, ["tickets:read"])
    response = token_request(oauth, agent)
    assert response["Cache-Control"] == "no-store"
    bad = token_request(oauth, agent, scope="tickets:write")
    assert bad["Cache-Control"] == "no-store" and bad.status_code == 400


def test_it_joins_an_open_task_by_id(agent, get_token):
    first = get_token(agent)
    second = get_token(agent, task_id=first["task_id"], authorization_details=None)
    assert second["task_id"] == first["task_id"]
    assert Task.objects.count() == 1 and IssuedToken.objects.count() == 2


def test_it_refuses_to_join_a_foreign_or_ended_task(make_agent, get_token, oauth, alice):
    mine, other = make_agent(), make_agent()
    theirs = get_token(other)
    own = get_token(mine)
    assert token_request(oauth, mine, task_id=theirs["task_id"]).json()["error"] == "invalid_request"
    task_end(task=Task.objects.get(pk=own["task_id"]), actor=alice)
    assert token_request(oauth, mine, task_id=own["task_id"]).json()["error"] == "invalid_request"


def test_a_joined_task_keeps_its_scopes(agent, get_token, oauth):
    first = get_token(agent, scope="tickets:read")
    response = token_request(oauth, agent, task_id=first["task_id"], scope="tickets:write")
    assert response.json()["error"] == "invalid_scope"


def test_it_refuses_scopes_beyond_the_grants(agent, oauth, crm, grant):
    grant(agent, crm, ["tickets:read"])
    response = token_request(oauth, agent, scope="tickets:read tickets:write")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert not IssuedToken.objects.exists()
    assert PolicyDecision.objects.get().policy_ids == ["portal:scope-beyond-grant"]


def test_it_refuses_without_a_live_grant(agent, oauth, crm, grant):
    g = grant(agent, crm, ["tickets:read"], days=1)
    g.__class__.objects.filter(pk=g.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    response = token_request(oauth, agent)
    assert response.json()["error"] == "invalid_scope"


def test_it_refuses_an_unknown_destination(agent, oauth, crm, grant):
    grant(agent, crm, ["tickets:read"])
    response = token_request(oauth, agent, resource="https://nowhere.example.com")
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"
    response = token_request(oauth, agent, resource=CRM, audience="https://other.example.com")
    assert response.json()["error"] == "invalid_target"


def test_it_accepts_audience_instead_of_resource(agent, oauth, crm, grant):
    grant(agent, crm, ["tickets:read"])
    response = token_request(oauth, agent, resource=None, audience=CRM)
    assert response.status_code == 200


def test_it_refuses_an_identity_that_is_not_active_and_tells_the_owner(make_agent, oauth, crm, grant, alice):
    agent = make_agent()
    grant(agent, crm, ["tickets:read"])
    identity_suspend(actor=alice, identity=agent.identity, reason="Investigating")

    response = token_request(oauth, agent)

    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    decision = PolicyDecision.objects.get(identity_id=agent.identity.pk)
    assert decision.policy_ids == ["portal:identity-not-active"] and decision.decision == "deny"
    assert not IssuedToken.objects.exists()


def test_a_registered_identity_gets_nothing(make_agent, oauth, crm, grant):
    agent = make_agent(activate=False)
    grant(agent, crm, ["tickets:read"])
    assert token_request(oauth, agent).json()["error"] == "unauthorized_client"


def test_a_policy_denial_is_access_denied_without_naming_policies(make_agent, oauth, sam, grant):
    secret_service = service_create(
        actor=sam, name="Vault", audience="https://vault.example.com", owner=sam, sensitivity=4, scopes=["read"],
    )
    agent = make_agent()  # its ceiling is confidential (3): the restricted service is above it
    grant(agent, secret_service, ["read"])

    response = token_request(oauth, agent, resource="https://vault.example.com", scope="read")

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "access_denied"
    assert "forbid" not in body["error_description"] and "ceiling" not in body["error_description"]
    decision = PolicyDecision.objects.get(identity_id=agent.identity.pk)
    assert "forbid-service-above-sensitivity-ceiling" in decision.policy_ids
    assert not IssuedToken.objects.exists() and not Task.objects.exists()


@pytest.mark.parametrize(
    "requested, grant_minutes, ceiling, expected",
    [(60, 60 * 24, 900, 60), (None, 5, 900, 300), (None, 60 * 24, 120, 120), (5000, 60 * 24, 900, 900)],
)
def test_the_ttl_is_the_shortest_bound(agent, oauth, crm, sam, settings, requested, grant_minutes, ceiling, expected):
    from tokens.services import grant_create

    settings.NHI = {**settings.NHI, "TOKEN_TTL_CEILING": ceiling}
    grant_create(actor=sam, identity=agent.identity, service=crm, scopes=["tickets:read"], ends_at=timezone.now() + timedelta(minutes=grant_minutes))

    response = token_request(oauth, agent, ttl=str(requested) if requested else None)

    assert response.status_code == 200, response.content
    assert expected - 2 <= response.json()["expires_in"] <= expected


def test_it_refuses_an_unsupported_grant_type(agent, oauth):
    response = token_request(oauth, agent, grant_type="password")
    assert response.json()["error"] == "unsupported_grant_type"


def test_it_refuses_a_repeated_parameter(agent, oauth, crm, grant):
    grant(agent, crm, ["tickets:read"])
    response = oauth.post(
        "/oauth/token",
        "grant_type=client_credentials&scope=tickets:read&scope=tickets:write&resource=" + CRM
        + "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion="
        + agent.assertion(),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "details",
    [
        "not json",
        json.dumps({"type": "agent_task", "intent": "x"}),
        json.dumps([{"type": "payment_initiation", "intent": "x"}]),
        json.dumps([{"type": "agent_task"}]),
        json.dumps([{"type": "agent_task", "intent": "x", "sensitivity": "top-secret"}]),
        json.dumps([{"type": "agent_task", "intent": "x", "actions": "read"}]),
        json.dumps([{"type": "agent_task", "intent": "x", "colour": "blue"}]),
        json.dumps(TASK + TASK),
    ],
)
def test_it_validates_authorization_details(agent, oauth, crm, grant, details):
    grant(agent, crm, ["tickets:read"])
    response = token_request(oauth, agent, authorization_details=details)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_authorization_details"
    assert not IssuedToken.objects.exists()


def test_a_new_task_needs_its_context(agent, oauth, crm, grant):
    grant(agent, crm, ["tickets:read"])
    response = token_request(oauth, agent, authorization_details=None)
    assert response.json()["error"] == "invalid_request"


def test_it_spends_the_assertion_even_when_it_refuses(agent, oauth, crm, grant):
    grant(agent, crm, ["tickets:read"])
    assertion = agent.assertion()
    assert token_request(oauth, agent, assertion=assertion, scope="tickets:write").status_code == 400
    assert UsedAssertion.objects.count() == 1
    again = token_request(oauth, agent, assertion=assertion)
    assert again.status_code == 401 and again.json()["error"] == "invalid_client"


def test_it_accepts_rsa_and_eddsa_client_keys(make_agent, oauth, crm, grant):
    for alg in ("EdDSA", "PS256", "RS256"):
        agent = make_agent(alg=alg)
        grant(agent, crm, ["tickets:read"])
        assert token_request(oauth, agent).status_code == 200, alg


def test_it_accepts_an_assertion_without_kid_when_the_identity_has_one_key(agent, oauth, crm, grant):
    grant(agent, crm, ["tickets:read"])
    response = token_request(oauth, agent, assertion=agent.assertion(headers={"kid": None}))
    assert response.status_code == 200


def test_it_writes_one_audit_event_per_token(agent, get_token):
    get_token(agent)
    get_token(agent)
    assert AuditEvent.objects.filter(action="token.issue").count() == 2


def test_the_oauth_endpoints_mark_their_secrets_for_error_reports(agent, oauth, crm, grant):
    # Django's error reports (the DEBUG page, mails to ADMINS) then show these as stars.
    grant(agent, crm, ["tickets:read"])
    response = token_request(oauth, agent)
    assert set(response.wsgi_request.sensitive_post_parameters) == {"client_assertion", "subject_token", "actor_token"}
    for url in ("/oauth/introspect", "/oauth/revoke"):
        refused = oauth.post(url, {"token": "x"})
        assert {"client_assertion", "token"} <= set(refused.wsgi_request.sensitive_post_parameters), url


def test_a_refused_assertion_naming_a_key_is_noted_for_the_owners_not_the_caller(agent, oauth, crm, grant, client_for, alice, charlie):
    grant(agent, crm, ["tickets:read"])
    refused = token_request(oauth, agent, assertion=agent.assertion(lifetime=3600))
    assert refused.status_code == 401 and refused.json() == {
        "error": "invalid_client", "error_description": "The client assertion must expire within 300 seconds.",
    }
    credential = WorkloadCredential.objects.get(identity=agent.identity)
    assert credential.refusal == "The client assertion must expire within 300 seconds."
    body = client_for(alice).get(f"/api/v1/credentials/?identity={agent.identity.pk}").json()
    assert body["results"][0]["refusal"] == credential.refusal
    assert client_for(charlie).get(f"/api/v1/credentials/?identity={agent.identity.pk}").json()["results"] == []
    assert token_request(oauth, agent).status_code == 200  # a refusal blocks nothing after it
