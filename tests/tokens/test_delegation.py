"""Delegation through the token endpoint: a helper agent acts for an orchestrator it was lent to,
with its own key, within both agents' rights, and loses what it got when anything upstream ends."""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.services import identity_offboard, identity_suspend
from nhiportal.audit.models import AuditEvent
from tokens.delegations import delegation_create, delegation_revoke
from tokens.ending_previews import delegation_ending
from tokens.models import IssuedToken, Task
from tokens.revocation import task_end, token_revoke

from .conftest import token_request
from .test_token_exchange import exchange, unverified


@pytest.fixture
def orchestrator(make_agent, alice):
    return make_agent(alice, name="orchestrator")


@pytest.fixture
def helper(make_agent, bob, crm, grant):
    agent = make_agent(bob, name="helper")
    grant(agent, crm, ["tickets:read"])
    return agent


@pytest.fixture
def held(orchestrator, get_token):
    return get_token(orchestrator, scope="tickets:read tickets:write", ttl="600")


@pytest.fixture
def lent(orchestrator, helper, alice):
    return delegation_create(actor=alice, principal=orchestrator.identity, delegate_id=helper.identity.pk, reason="Triage helper")


def test_a_helper_acts_for_the_orchestrator_that_lent_it(oauth, orchestrator, helper, held, lent):
    response = exchange(oauth, helper, held["access_token"], scope="tickets:read")
    assert response.status_code == 200, response.content
    claims = unverified(response.json()["access_token"])
    assert claims["sub"] == orchestrator.client_id and claims["client_id"] == helper.client_id
    assert claims["act"] == {"sub": helper.client_id}
    row = IssuedToken.objects.get(jti=claims["jti"])
    assert row.identity_id == helper.identity.pk and row.parent.jti == unverified(held["access_token"])["jti"]
    task = Task.objects.get(pk=claims["task_id"])
    assert task.identity_id == helper.identity.pk and str(task.parent_id) == held["task_id"]


def test_the_act_chain_grows_with_each_hand(oauth, make_agent, crm, grant, orchestrator, helper, held, lent, bob, carol):
    sub_helper = make_agent(bob, name="sub-helper")
    grant(sub_helper, crm, ["tickets:read"])
    delegation_create(actor=bob, principal=helper.identity, delegate_id=sub_helper.identity.pk, reason="Second hand")
    first = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()["access_token"]
    second = exchange(oauth, sub_helper, first).json()["access_token"]
    claims = unverified(second)
    assert claims["sub"] == orchestrator.client_id and claims["client_id"] == sub_helper.client_id
    assert claims["act"] == {"sub": sub_helper.client_id, "act": {"sub": helper.client_id}}


def test_without_a_delegation_another_agents_token_is_refused(oauth, helper, held):
    response = exchange(oauth, helper, held["access_token"], scope="tickets:read")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert IssuedToken.objects.count() == 1


def test_the_helper_gets_no_more_than_both_agents_hold(oauth, helper, held, lent):
    beyond_helper = exchange(oauth, helper, held["access_token"], scope="tickets:write")
    assert beyond_helper.json()["error"] == "invalid_scope"
    assert IssuedToken.objects.count() == 1


def test_ending_the_delegation_revokes_what_the_helper_got(oauth, alice, helper, held, lent):
    got = unverified(exchange(oauth, helper, held["access_token"], scope="tickets:read").json()["access_token"])
    assert delegation_revoke(actor=alice, delegation=lent, reason="Pilot over") == 1
    assert IssuedToken.objects.get(jti=got["jti"]).revoked_at is not None
    assert exchange(oauth, helper, held["access_token"], scope="tickets:read").json()["error"] == "invalid_request"
    assert AuditEvent.objects.filter(action="delegation.revoke", identity_id=lent.principal_id).count() == 1


def join(oauth, agent, task_id, scope="tickets:read"):
    """A client_credentials request joining an open task by its id."""
    return token_request(oauth, agent, task_id=task_id, authorization_details=None, scope=scope)


def test_ending_the_delegation_ends_the_sub_tasks_opened_under_it_and_the_tokens_joined_into_them(
    oauth, alice, helper, held, lent, get_token,
):
    sub_task = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()["task_id"]
    joined = join(oauth, helper, sub_task)
    assert joined.status_code == 200, joined.content  # by task_id: a token with no parent token
    joined_jti = unverified(joined.json()["access_token"])["jti"]
    own = get_token(helper, scope="tickets:read")  # a task of its own, nothing to do with the delegation

    assert delegation_revoke(actor=alice, delegation=lent, reason="Pilot over") == 2

    assert IssuedToken.objects.get(jti=joined_jti).revoked_at is not None
    ended = Task.objects.get(pk=sub_task)
    assert ended.ended_at is not None and ended.end_reason == "Delegation ended: Pilot over"
    refused = join(oauth, helper, sub_task)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    assert IssuedToken.objects.filter(task_id=sub_task).count() == 2
    assert Task.objects.get(pk=own["task_id"]).ended_at is None
    assert join(oauth, helper, own["task_id"]).status_code == 200
    event = AuditEvent.objects.get(action="delegation.revoke")
    assert event.after["tokens_revoked"] == 2 and event.after["tasks_ended"] == 1


def test_what_the_helper_joined_under_one_delegation_does_not_outlive_a_later_one(oauth, alice, orchestrator, helper, held, lent):
    sub_task = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()["task_id"]
    delegation_revoke(actor=alice, delegation=lent, reason="Pilot over")
    again = delegation_create(actor=alice, principal=orchestrator.identity, delegate_id=helper.identity.pk, reason="Pilot resumed")

    assert join(oauth, helper, sub_task).status_code == 400

    delegation_revoke(actor=alice, delegation=again, reason="Pilot over again")
    assert not IssuedToken.objects.filter(identity=helper.identity, revoked_at__isnull=True).exists()


def test_ending_a_delegation_ends_what_was_handed_on_below_it(oauth, make_agent, crm, grant, alice, bob, helper, held, lent):
    sub_helper = make_agent(bob, name="sub-helper")
    grant(sub_helper, crm, ["tickets:read"])
    delegation_create(actor=bob, principal=helper.identity, delegate_id=sub_helper.identity.pk, reason="Second hand")
    first = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()
    second = exchange(oauth, sub_helper, first["access_token"]).json()
    assert join(oauth, sub_helper, second["task_id"]).status_code == 200

    delegation_revoke(actor=alice, delegation=lent, reason="Pilot over")

    assert Task.objects.get(pk=second["task_id"]).ended_at is not None
    assert join(oauth, sub_helper, second["task_id"]).status_code == 400
    assert not IssuedToken.objects.filter(identity=sub_helper.identity, revoked_at__isnull=True).exists()


@pytest.mark.parametrize("upstream", ["token", "task", "offboard"])
def test_what_the_helper_got_dies_with_the_orchestrators_token_task_or_identity(oauth, alice, orchestrator, helper, held, lent, upstream):
    got = unverified(exchange(oauth, helper, held["access_token"], scope="tickets:read").json()["access_token"])
    parent = IssuedToken.objects.get(jti=unverified(held["access_token"])["jti"])
    if upstream == "token":
        token_revoke(token=parent, actor=alice, reason="leaked")
    elif upstream == "task":
        task_end(task=parent.task, actor=alice, reason="done")
    else:
        identity_offboard(actor=alice, identity=orchestrator.identity, reason="retired")
    assert IssuedToken.objects.get(jti=got["jti"]).revoked_at is not None


def test_only_the_principals_owners_lend_it(orchestrator, helper, bob, charlie, alice):
    with pytest.raises(PermissionDenied):
        delegation_create(actor=bob, principal=orchestrator.identity, delegate_id=helper.identity.pk, reason="mine now")
    with pytest.raises(PermissionDenied):
        delegation_create(actor=charlie, principal=orchestrator.identity, delegate_id=helper.identity.pk, reason="x")


@pytest.mark.parametrize(
    "delegate, reason, field",
    [("self", "x", "delegate"), ("unknown", "x", "delegate"), ("helper", "  ", "reason")],
)
def test_a_delegation_needs_another_known_identity_and_a_reason(orchestrator, helper, alice, delegate, reason, field):
    import uuid

    target = {"self": orchestrator.identity.pk, "unknown": uuid.uuid4(), "helper": helper.identity.pk}[delegate]
    with pytest.raises(ValidationError) as refused:
        delegation_create(actor=alice, principal=orchestrator.identity, delegate_id=target, reason=reason)
    assert field in refused.value.message_dict


def test_a_delegation_is_given_once(orchestrator, helper, alice, lent):
    with pytest.raises(ValidationError, match="already"):
        delegation_create(actor=alice, principal=orchestrator.identity, delegate_id=helper.identity.pk, reason="again")


def delegation_page(identity):
    return f"/identities/{identity.pk}/delegations/new/"


def test_an_owner_lends_the_agent_in_the_browser_and_ends_it(client_for, alice, orchestrator, helper):
    client = client_for(alice)
    refused = client.post(delegation_page(orchestrator.identity), {"delegate": "not-a-uuid", "reason": "x"})
    assert refused.status_code == 400 and b"Enter a valid UUID" in refused.content
    refused = client.post(delegation_page(orchestrator.identity), {"delegate": str(orchestrator.identity.pk), "reason": "x"})
    assert refused.status_code == 400 and b"already acts for itself" in refused.content
    response = client.post(delegation_page(orchestrator.identity), {"delegate": str(helper.identity.pk), "reason": "Triage helper"})
    assert response.status_code == 302
    panel = client.get(f"/identities/{orchestrator.identity.pk}/access-panel/")
    assert b"helper" in panel.content and b"Triage helper" in panel.content
    delegation = orchestrator.identity.delegations_given.get()
    ended = client.post(f"/identities/{orchestrator.identity.pk}/delegations/{delegation.pk}/revoke/", {"reason": "done"})
    assert ended.status_code == 302
    delegation.refresh_from_db()
    assert delegation.revoked_at is not None and delegation.revoked_by_label == "alice"


def test_outsiders_and_read_only_roles_cannot_lend(client_for, charlie, rita, bob, orchestrator, helper, lent):
    data = {"delegate": str(helper.identity.pk), "reason": "x"}
    revoke = f"/identities/{orchestrator.identity.pk}/delegations/{lent.pk}/revoke/"
    for person in (charlie, bob):  # bob owns the helper, not the orchestrator: he cannot even see it
        assert client_for(person).get(delegation_page(orchestrator.identity)).status_code == 404
        assert client_for(person).post(delegation_page(orchestrator.identity), data).status_code == 404
        assert client_for(person).post(revoke).status_code == 404
    assert client_for(rita).post(delegation_page(orchestrator.identity), data).status_code == 403
    assert client_for(rita).post(revoke).status_code == 403
    lent.refresh_from_db()
    assert lent.revoked_at is None


def test_the_api_lends_lists_and_ends(client_for, alice, bob, charlie, orchestrator, helper):
    body = {"principal": str(orchestrator.identity.pk), "delegate": str(helper.identity.pk), "reason": "Triage helper"}
    assert client_for(charlie).post("/api/v1/delegations/", body, content_type="application/json").status_code == 404
    assert client_for(bob).post("/api/v1/delegations/", body, content_type="application/json").status_code == 404
    bad = client_for(alice).post("/api/v1/delegations/", {**body, "delegate": body["principal"]}, content_type="application/json")
    assert bad.status_code == 400 and "delegate" in bad.json()
    created = client_for(alice).post("/api/v1/delegations/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert [d["id"] for d in client_for(bob).get("/api/v1/delegations/").json()["results"]] == [pk]  # he sees his helper's side
    assert client_for(charlie).get("/api/v1/delegations/").json()["results"] == []
    assert client_for(bob).post(f"/api/v1/delegations/{pk}/revoke/", {}, content_type="application/json").status_code == 403
    ended = client_for(alice).post(f"/api/v1/delegations/{pk}/revoke/", {"reason": "done"}, content_type="application/json")
    assert ended.status_code == 200 and ended.json()["revoked_by"] == "alice"


def test_an_owner_learns_nothing_of_an_unseen_agent_being_offboarded(client_for, alice, bob, sam, orchestrator, helper):
    """alice knows bob's helper by its client_id alone: once it is offboarded it answers as an
    unknown client_id would, on the page and in the API. Its owner still reads why."""
    identity_offboard(actor=bob, identity=helper.identity, reason="Retired")
    unknown = "00000000-0000-4000-8000-000000000000"

    def refusals(person, delegate):
        page = client_for(person).post(delegation_page(orchestrator.identity), {"delegate": delegate, "reason": "Triage helper"})
        api = client_for(person).post(
            "/api/v1/delegations/", {"principal": str(orchestrator.identity.pk), "delegate": delegate, "reason": "Triage helper"},
            content_type="application/json",
        )
        assert page.status_code == api.status_code == 400
        return page.context["form"].errors["delegate"], api.json()["delegate"]

    assert refusals(alice, str(helper.identity.pk)) == refusals(alice, unknown) == (["No identity has this client_id."],) * 2
    page_error, api_error = refusals(sam, str(helper.identity.pk))  # a security admin sees every identity
    assert page_error == api_error == ["Offboarded identities neither act nor lend."]


def test_the_panel_names_only_the_identities_its_reader_may_see(client_for, alice, bob, sam, orchestrator, helper):
    # alice lends her orchestrator to bob's helper by the client_id bob gave her; she may not see
    # the helper, so nothing she reads names it, and bob reads the orchestrator's client_id only.
    client = client_for(alice)
    assert client.get(f"/identities/{helper.identity.pk}/").status_code == 404
    lent = client.post(delegation_page(orchestrator.identity), {"delegate": str(helper.identity.pk), "reason": "Triage helper"}, follow=True)
    assert lent.status_code == 200 and b"helper may now act" not in lent.content and str(helper.identity.pk).encode() in lent.content
    again = client.post(delegation_page(orchestrator.identity), {"delegate": str(helper.identity.pk), "reason": "again"})
    assert again.status_code == 400 and b"That identity may already act for orchestrator" in again.content
    panel = client.get(f"/identities/{orchestrator.identity.pk}/access-panel/").content.decode()
    assert str(helper.identity.pk) in panel and ">helper<" not in panel
    bobs = client_for(bob).get(f"/identities/{helper.identity.pk}/access-panel/").content.decode()
    assert "It may act for" in bobs and str(orchestrator.identity.pk) in bobs and "orchestrator" not in bobs
    # A security admin, who sees both, reads both names.
    assert "helper<br>" in client_for(sam).get(f"/identities/{orchestrator.identity.pk}/access-panel/").content.decode()
    delegation = orchestrator.identity.delegations_given.get()
    ended = client.post(f"/identities/{orchestrator.identity.pk}/delegations/{delegation.pk}/revoke/", {"reason": "done"}, follow=True)
    assert b"helper no longer acts" not in ended.content and b"no longer acts for orchestrator" in ended.content


@pytest.mark.parametrize("leaver", ["principal", "delegate"])
def test_offboarding_either_identity_ends_its_delegations_and_counts_them(oauth, alice, bob, orchestrator, helper, held, lent, leaver):
    got = unverified(exchange(oauth, helper, held["access_token"], scope="tickets:read").json()["access_token"])
    gone, owner = (orchestrator, alice) if leaver == "principal" else (helper, bob)
    identity_offboard(actor=owner, identity=gone.identity, reason="retired")

    lent.refresh_from_db()
    assert lent.revoked_at is not None and lent.revoke_reason == "Identity offboarded: retired"
    assert IssuedToken.objects.get(jti=got["jti"]).revoked_at is not None
    assert AuditEvent.objects.get(action="identity.offboard").after["delegations_ended"] == 1
    # No exchange through it any more.
    assert exchange(oauth, helper, held["access_token"], scope="tickets:read").status_code in (400, 401)


def test_the_revoke_event_counts_the_sub_tasks_under_the_delegates_too(oauth, alice, bob, make_agent, crm, grant, orchestrator, helper, held, lent):
    sub_helper = make_agent(bob, name="sub-helper")
    grant(sub_helper, crm, ["tickets:read"])
    delegation_create(actor=bob, principal=helper.identity, delegate_id=sub_helper.identity.pk, reason="Second hand")
    first = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()
    exchange(oauth, sub_helper, first["access_token"])

    assert delegation_revoke(actor=alice, delegation=lent, reason="Pilot over") == 2

    assert AuditEvent.objects.get(action="delegation.revoke").after["tasks_ended"] == 2  # the helper's and the one under it


def test_the_end_preview_counts_what_ending_the_delegation_takes_below_the_delegate(
    oauth, alice, bob, make_agent, crm, grant, orchestrator, helper, held, lent,
):
    sub_helper = make_agent(bob, name="sub-helper")
    grant(sub_helper, crm, ["tickets:read"])
    delegation_create(actor=bob, principal=helper.identity, delegate_id=sub_helper.identity.pk, reason="Second hand")
    first = exchange(oauth, helper, held["access_token"], scope="tickets:read").json()
    second = exchange(oauth, sub_helper, first["access_token"]).json()
    assert join(oauth, sub_helper, second["task_id"]).status_code == 200

    promised = delegation_ending(lent)

    assert delegation_revoke(actor=alice, delegation=lent, reason="Pilot over") == promised["tokens"] == 3
    event = AuditEvent.objects.get(action="delegation.revoke")
    assert promised == {"subtasks": event.after["tasks_ended"], "tokens": event.after["tokens_revoked"]} == {"subtasks": 2, "tokens": 3}


@pytest.mark.postgres("row locks")
def test_suspending_the_principal_locks_its_delegate_in_id_order_first(oauth, alice, bob, make_agent, crm, grant, get_token):
    # Issuance locks in id order; a delegate with the lower id locked after the principal could deadlock with it.
    agents = [make_agent(alice, name="one"), make_agent(bob, name="two")]
    for agent in agents:
        grant(agent, crm, ["tickets:read"])
    delegate, principal = sorted(agents, key=lambda agent: str(agent.identity.pk))
    owner = alice if principal is agents[0] else bob
    delegation_create(actor=owner, principal=principal.identity, delegate_id=delegate.identity.pk, reason="Triage helper")
    assert exchange(oauth, delegate, get_token(principal, scope="tickets:read")["access_token"]).status_code == 200

    with CaptureQueriesContext(connection) as queries:
        identity_suspend(actor=owner, identity=principal.identity, reason="Paused")

    locked = [
        identity for query in queries.captured_queries if query["sql"].endswith("FOR UPDATE") and '"inventory_aiidentity"' in query["sql"]
        for identity in re.findall(r"'([0-9a-f]{32})'::uuid", query["sql"])
    ]
    assert list(dict.fromkeys(locked)) == [delegate.identity.pk.hex, principal.identity.pk.hex]
