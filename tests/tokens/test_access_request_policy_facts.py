"""A reviewer approves an access request on the facts its page shows (autonomy, environment,
trust boundary, sensitivity ceiling, allowed networks): while the request waits, the identity's
owners may not loosen them, as once it is in service; the refusal names the request. Tightening
stays theirs, and cancelling the request frees the facts again."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Sensitivity
from nhiportal.audit.models import AuditEvent
from tokens.access_requests import access_request_cancel, access_request_create
from tokens.models import AccessRequestState, Grant
from tokens.services import service_create

pytestmark = pytest.mark.django_db
IDENTITY_API = "/api/v1/identities/{}/"
LOOSER = {"environment": "production", "autonomy": "autonomous", "sensitivity_ceiling": Sensitivity.RESTRICTED}


@pytest.fixture
def exports(sam, bob):
    return service_create(
        actor=sam, name="Exports", audience="https://exports.example.com", owner=bob, trust_boundary="corp-internal",
        scopes=["exports:create"],
    )


@pytest.fixture
def agent(make_identity, alice):
    return make_identity(alice, name="toctou-agent", environment="development", autonomy="supervised", sensitivity_ceiling=Sensitivity.PUBLIC)


def ask(actor, agent, exports):
    return access_request_create(
        actor=actor, identity=agent, service=exports, scopes=["exports:create"], ends_at=timezone.now() + timedelta(days=14),
        justification="Exports the weekly report.",
    )


def patch(client, identity, **changes):
    identity.refresh_from_db()
    return client.patch(IDENTITY_API.format(identity.pk), {"version": identity.version, **changes}, content_type="application/json")


def facts(identity):
    identity.refresh_from_db()
    return identity.environment, identity.autonomy, identity.sensitivity_ceiling


def test_an_owner_cannot_loosen_the_facts_while_the_request_waits_so_the_reviewer_approves_what_they_saw(client_for, alice, rita, agent, exports):
    waiting = ask(alice, agent, exports)
    page = client_for(rita).get(f"/access-requests/{waiting.pk}/").content.decode()
    assert "Supervised, development" in page and "data up to public" in page and "its owners cannot loosen these" in page

    response = patch(client_for(alice), agent, **LOOSER)
    assert response.status_code == 400
    refused = response.json()
    assert set(refused) == set(LOOSER)
    assert all(f"access request #{waiting.pk} waits to be decided on it" in refused[field][0] for field in LOOSER), refused
    assert facts(agent) == ("development", "supervised", Sensitivity.PUBLIC)
    assert not AuditEvent.objects.filter(action="identity.update").exists()

    approved = client_for(rita).post(f"/access-requests/{waiting.pk}/", {"decision": "approve", "approve-reason": "weekly report"})
    assert approved.status_code == 302
    waiting.refresh_from_db()
    assert waiting.state == AccessRequestState.APPROVED and Grant.objects.filter(identity=agent).exists()
    assert facts(agent) == ("development", "supervised", Sensitivity.PUBLIC)
    # Now it holds a grant: the facts stay settled, as for any identity in service.
    assert patch(client_for(alice), agent, environment="production").status_code == 400


def test_a_request_waiting_for_an_owner_settles_them_too(client_for, alice, sam, agent, exports):
    waiting = ask(sam, agent, exports)  # a security admin asked: an owner vouches first
    assert waiting.state == AccessRequestState.OWNER_REVIEW
    response = patch(client_for(alice), agent, autonomy="autonomous")
    assert response.status_code == 400 and f"access request #{waiting.pk}" in response.json()["autonomy"][0]


def test_the_edit_page_shows_them_fixed_and_refuses_a_raise_next_to_the_field_naming_the_request(client_for, alice, agent, exports):
    waiting = ask(alice, agent, exports)
    client = client_for(alice)
    page = client.get(f"/identities/{agent.pk}/edit/")
    form = page.context["form"]
    assert form.fields["environment"].disabled and form.fields["autonomy"].disabled
    assert f"a security admin changes it while access request #{waiting.pk} waits" in page.content.decode()
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(sensitivity_ceiling=Sensitivity.RESTRICTED, environment="production", allowed_networks="")
    response = client.post(f"/identities/{agent.pk}/edit/", data)
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["sensitivity_ceiling"]  # environment is fixed: its value is not read
    assert f"access request #{waiting.pk} waits to be decided on it" in response.context["form"].errors["sensitivity_ceiling"][0]
    assert facts(agent) == ("development", "supervised", Sensitivity.PUBLIC)


def test_tightening_while_it_waits_stays_the_owners(client_for, alice, agent, exports):
    ask(alice, agent, exports)
    client = client_for(alice)
    assert patch(client, agent, allowed_networks=["10.20.0.0/16"]).status_code == 200
    assert patch(client, agent, sensitivity_ceiling=None).status_code == 200
    assert patch(client, agent, purpose="Exports the weekly report for finance.").status_code == 200
    agent.refresh_from_db()
    assert (agent.allowed_networks, agent.sensitivity_ceiling) == (["10.20.0.0/16"], None)


def test_cancelling_the_request_frees_the_facts_and_a_security_admin_changes_them_meanwhile(client_for, alice, sam, agent, exports):
    waiting = ask(alice, agent, exports)
    assert patch(client_for(sam), agent, autonomy="human_in_the_loop").status_code == 200
    access_request_cancel(actor=alice, access_request=waiting)
    assert patch(client_for(alice), agent, **LOOSER).status_code == 200
    assert facts(agent) == ("production", "autonomous", Sensitivity.RESTRICTED)
