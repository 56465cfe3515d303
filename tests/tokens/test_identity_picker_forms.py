"""The grant and access request forms choose an identity with a picker, not a select of the
inventory: posted as its id (the picker's chip) or typed as its name or client_id."""

import pytest

from inventory.services import identity_offboard
from tokens.models import AccessRequest, Grant
from tests.tokens.test_views_grants import grant_data

pytestmark = pytest.mark.django_db
GRANT = "/grants/new/"
REQUEST = "/access-requests/new/"


def _typed(identity, service, scopes, text):
    """The form as posted without script: the identity typed in the picker's box, no chip."""
    data = grant_data(identity, service, scopes)
    del data["identity"]
    return {**data, "identity_typed": text}


def _identity_error(response) -> str:
    html = response.content.decode()
    error = html[html.index('id="id_identity_error"'):]
    return error[:error.index("</div>")]


def test_the_grant_page_sends_no_list_of_identities(client_for, sam, alice, make_identity):
    make_identity(alice, name="ledger-reconciler")
    html = client_for(sam).get(GRANT).content.decode()
    assert '<select name="identity"' not in html and "ledger-reconciler" not in html
    assert 'data-search-url="/identities/search/?purpose=grantable"' in html
    assert 'name="identity_typed"' in html


def test_the_identity_page_link_preselects_the_identity(client_for, sam, agent):
    html = client_for(sam).get(GRANT, {"identity": str(agent.identity.pk)}).content.decode()
    assert f'<input type="hidden" name="identity" value="{agent.identity.pk}"><span>{agent.identity.name}</span>' in html
    assert 'name="identity_typed" value=""' in html


@pytest.mark.parametrize("value", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "<b>x"])
def test_a_preselection_that_is_no_identity_preselects_nothing(client_for, sam, agent, value):
    response = client_for(sam).get(GRANT, {"identity": value})
    assert response.status_code == 200
    assert '<li class="chip"' not in response.content.decode()


def test_a_security_admin_grants_an_identity_posted_by_its_id(client_for, sam, agent, crm):
    assert client_for(sam).post(GRANT, grant_data(agent.identity, crm, ["tickets:read"])).status_code == 302
    assert Grant.objects.get().identity == agent.identity


@pytest.mark.parametrize("spelling", ["name", "NAME", "client_id", "CLIENT_ID"])
def test_a_security_admin_grants_an_identity_typed_by_name_or_client_id(client_for, sam, make_agent, crm, spelling):
    agent = make_agent(name="Ledger-Reconciler")
    make_agent(name="ledger-reconciler-2")
    text = {"name": " ledger-reconciler ", "NAME": "LEDGER-RECONCILER", "client_id": agent.identity.client_id,
            "CLIENT_ID": agent.identity.client_id.upper()}[spelling]
    response = client_for(sam).post(GRANT, _typed(agent.identity, crm, ["tickets:read"], text))
    assert response.status_code == 302, response.content
    assert Grant.objects.get().identity == agent.identity


def test_what_is_typed_wins_over_the_identity_preselected(client_for, sam, make_agent, crm):
    first, second = make_agent(name="first-agent"), make_agent(name="second-agent")
    data = {**grant_data(first.identity, crm, ["tickets:read"]), "identity_typed": "second-agent"}
    assert client_for(sam).post(GRANT, data).status_code == 302
    assert Grant.objects.get().identity == second.identity


def test_a_name_no_identity_has_is_refused_next_to_the_field_and_kept_to_correct(client_for, sam, agent, crm):
    response = client_for(sam).post(GRANT, _typed(agent.identity, crm, ["tickets:read"], "no-such-agent"))
    assert response.status_code == 400 and not Grant.objects.exists()
    assert "No identity you may choose has that name or client_id." in _identity_error(response)
    assert 'name="identity_typed" value="no-such-agent"' in response.content.decode()


def test_part_of_a_name_is_refused_with_the_names_that_hold_it(client_for, sam, make_agent, crm):
    for n in range(7):
        agent = make_agent(name=f"ledger-bot-{n}")
    response = client_for(sam).post(GRANT, _typed(agent.identity, crm, ["tickets:read"], "ledger"))
    assert response.status_code == 400 and not Grant.objects.exists()
    error = _identity_error(response)
    assert "is named exactly that" in error
    assert "ledger-bot-0, ledger-bot-1, ledger-bot-2, ledger-bot-3, ledger-bot-4 and more" in error
    assert "ledger-bot-5" not in error


def test_text_that_several_identities_answer_to_is_refused_naming_them(client_for, sam, make_agent, crm):
    # One identity's name may be another's client_id: typed, it names both.
    agent = make_agent(name="ledger-reconciler")
    namesake = make_agent(name=agent.identity.client_id)
    response = client_for(sam).post(GRANT, _typed(agent.identity, crm, ["tickets:read"], agent.identity.client_id))
    assert response.status_code == 400 and not Grant.objects.exists()
    error = _identity_error(response)
    assert "Several identities answer to that" in error and "Type the client_id of the one you mean." in error
    assert f"ledger-reconciler ({agent.identity.client_id})" in error and namesake.identity.client_id in error


def test_an_offboarded_identity_is_not_granted_whichever_way_it_is_named(client_for, sam, alice, make_agent, crm):
    agent = make_agent(name="old-agent")
    identity_offboard(actor=alice, identity=agent.identity, reason="Retired.")
    for data in (grant_data(agent.identity, crm, ["tickets:read"]), _typed(agent.identity, crm, ["tickets:read"], "old-agent")):
        response = client_for(sam).post(GRANT, data)
        assert response.status_code == 400
        assert "No identity you may choose has that name or client_id." in _identity_error(response)
    assert not Grant.objects.exists()


@pytest.mark.parametrize("value", ["²", "9" * 30, "x" * 5000])
def test_a_posted_id_that_is_no_identity_is_a_field_error(client_for, sam, agent, crm, value):
    response = client_for(sam).post(GRANT, {**grant_data(agent.identity, crm, ["tickets:read"]), "identity": value})
    assert response.status_code == 400 and not Grant.objects.exists()
    assert "No identity you may choose" in _identity_error(response)


def test_an_owner_asks_for_access_for_their_identity_typed_by_name(client_for, alice, agent, crm):
    data = {**_typed(agent.identity, crm, ["tickets:read"], agent.identity.name.upper()), "justification": "Triage."}
    response = client_for(alice).post(REQUEST, data)
    assert response.status_code == 302, response.content
    assert AccessRequest.objects.get().identity == agent.identity


def test_an_owner_typing_anothers_identity_learns_nothing_of_it(client_for, alice, bob, agent, make_agent, crm):
    bobs = make_agent(bob, name="bobs-ledger-agent")
    for text in ("bobs-ledger-agent", "ledger", bobs.identity.client_id):
        data = {**_typed(bobs.identity, crm, ["tickets:read"], text), "justification": "Triage."}
        response = client_for(alice).post(REQUEST, data)
        assert response.status_code == 400 and not AccessRequest.objects.exists()
        assert "No identity you may choose has that name or client_id." in _identity_error(response)
        # Only what she typed comes back, not the names of identities holding it.
        assert response.content.decode().count("bobs-ledger-agent") == (1 if text == "bobs-ledger-agent" else 0)
