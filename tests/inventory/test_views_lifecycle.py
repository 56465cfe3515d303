"""Lifecycle actions from the identity page: POST only, refusals explained, one event each."""

import pytest
from django.urls import reverse

from inventory.models import AIIdentity, Status
from inventory.services import identity_activate, identity_suspend, identity_update
from nhiportal.audit.models import AuditEvent

POST_ONLY = ["identity-activate", "identity-suspend", "identity-reactivate", "identity-attest"]
ALL_ACTIONS = [*POST_ONLY, "identity-offboard"]


def url(name, identity):
    return reverse(f"inventory:{name}", args=[identity.pk])


def status_of(identity):
    return AIIdentity.objects.get(pk=identity.pk).status


@pytest.mark.parametrize("name", POST_ONLY)
def test_it_refuses_get_on_an_action(name, alice, client_for, make_identity):
    identity = make_identity(alice)
    assert client_for(alice).get(url(name, identity)).status_code == 405
    assert status_of(identity) == Status.REGISTERED


def test_it_activates_and_says_so(alice, client_for, make_identity):
    identity = make_identity(alice)
    response = client_for(alice).post(url("identity-activate", identity), {"version": identity.version}, follow=True)
    assert response.redirect_chain == [(url("identity-detail", identity), 302)]
    assert f"{identity.name} is active.".encode() in response.content
    assert status_of(identity) == Status.ACTIVE
    assert AuditEvent.objects.filter(action="identity.activate", identity_id=identity.pk).count() == 1


def test_a_refused_activation_lands_on_the_identity_page_which_lists_what_is_missing_once(alice, client_for, make_identity):
    identity = make_identity(alice, trust_boundary="", offboarding_plan="", credential=False)
    response = client_for(alice).post(url("identity-activate", identity), {"version": identity.version}, follow=True)
    # Post/redirect/get: refreshing the page it lands on does not post again.
    assert response.redirect_chain == [(url("identity-detail", identity), 302)]
    body = response.content.decode()
    assert f"{identity.name} was not activated: it still needs what is listed below." in body
    for item in ["a trust boundary", "an offboarding plan", "a workload credential"]:
        assert body.count(item) == 1, item
    assert status_of(identity) == Status.REGISTERED


def test_the_page_shows_activation_disabled_while_something_is_missing(alice, client_for, make_identity):
    identity = make_identity(alice, credential=False)
    body = client_for(alice).get(url("identity-detail", identity)).content.decode()
    assert body.count("a workload credential") == 1
    assert f'action="{url("identity-activate", identity)}"' not in body
    assert '<button type="button" class="btn-primary" disabled aria-describedby="activate-blocked">Activate</button>' in body
    assert 'id="activate-blocked">Not yet: first add what is listed <a href="#missing">above</a>.' in body


def test_the_page_offers_activation_once_nothing_is_missing(alice, client_for, make_identity):
    identity = make_identity(alice)
    body = client_for(alice).get(url("identity-detail", identity)).content.decode()
    assert 'id="missing"' not in body and 'aria-describedby="activate-blocked"' not in body
    assert f'action="{url("identity-activate", identity)}"' in body


def test_a_suspended_identity_lacking_an_owner_shows_reactivation_disabled(alice, sam, client_for, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    identity = identity_suspend(actor=alice, identity=identity, reason="Paused")
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    body = client_for(sam).get(url("identity-detail", identity)).content.decode()
    assert "Before it can be reactivated it needs:" in body and body.count("an active owner") == 1
    assert 'disabled aria-describedby="reactivate-blocked">Reactivate</button>' in body
    assert f'action="{url("identity-reactivate", identity)}"' not in body


def test_it_refuses_a_button_pressed_on_a_stale_page(alice, bob, client_for, make_identity):
    identity = make_identity(alice, backups=[bob])
    stale_version = identity.version
    identity_update(actor=bob, identity=identity, expected_version=stale_version, purpose="Changed by bob.")
    response = client_for(alice).post(url("identity-activate", identity), {"version": stale_version}, follow=True)
    assert response.redirect_chain == [(url("identity-detail", identity), 302)]
    assert f"Someone changed {identity.name} since you opened its page: here it is as it is now.".encode() in response.content
    assert b"Changed by bob." in response.content
    assert status_of(identity) == Status.REGISTERED


def test_it_needs_a_reason_to_suspend(alice, client_for, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    response = client_for(alice).post(url("identity-suspend", identity), {"version": identity.version, "reason": ""})
    assert response.status_code == 400
    assert b'id="id_reason_error"><p>This field is required.' in response.content
    assert status_of(identity) == Status.ACTIVE


def test_it_suspends_and_reactivates(alice, client_for, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    client = client_for(alice)
    response = client.post(url("identity-suspend", identity), {"version": identity.version, "reason": "Leaked key"}, follow=True)
    assert b"is suspended" in response.content
    identity.refresh_from_db()
    assert (identity.status, identity.status_reason) == (Status.SUSPENDED, "Leaked key")
    response = client.post(url("identity-reactivate", identity), {"version": identity.version}, follow=True)
    assert b"is active again" in response.content
    assert status_of(identity) == Status.ACTIVE


def test_it_refuses_a_transition_the_state_does_not_allow(alice, client_for, make_identity):
    identity = make_identity(alice)
    response = client_for(alice).post(url("identity-reactivate", identity), {"version": identity.version}, follow=True)
    assert response.redirect_chain == [(url("identity-detail", identity), 302)]
    assert b"Cannot reactivate an identity that is registered." in response.content
    assert status_of(identity) == Status.REGISTERED


def test_the_offboard_page_says_what_will_happen(alice, client_for, make_identity):
    identity = make_identity(alice)
    body = client_for(alice).get(url("identity-offboard", identity)).content.decode()
    for consequence in ["no live token to revoke", "no open task to end", "no access grant to revoke", "1 workload credential</strong> is disabled"]:
        assert consequence in body
    # Disabled, as the identity page shows them afterwards: not "removed".
    assert "removed" not in body
    assert 'name="reason"' in body and 'name="confirm_name"' in body


def test_it_offboards_after_confirmation(alice, client_for, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice, name="old-agent"))
    response = client_for(alice).post(
        url("identity-offboard", identity),
        {"version": identity.version, "reason": "Project ended", "confirm_name": "old-agent"},
        follow=True,
    )
    assert response.redirect_chain == [(url("identity-detail", identity), 302)]
    assert b"old-agent is offboarded" in response.content
    identity.refresh_from_db()
    assert (identity.status, identity.status_reason) == (Status.OFFBOARDED, "Project ended")


def test_it_refuses_to_offboard_without_a_reason_and_the_name(alice, client_for, make_identity):
    identity = make_identity(alice, name="old-agent")
    response = client_for(alice).post(
        url("identity-offboard", identity), {"version": identity.version, "reason": "", "confirm_name": "old agent"}
    )
    assert response.status_code == 400
    assert b'id="id_reason_error"><p>This field is required.' in response.content
    assert b'id="id_confirm_name_error"><p>Type old-agent exactly to confirm.' in response.content
    assert status_of(identity) == Status.REGISTERED


def test_an_offboarded_identity_offers_no_actions(alice, client_for, make_identity):
    identity = make_identity(alice)
    client = client_for(alice)
    client.post(url("identity-offboard", identity), {"version": identity.version, "reason": "Done", "confirm_name": identity.name})
    body = client.get(url("identity-detail", identity)).content.decode()
    assert 'aria-label="Actions"' not in body
    response = client.get(url("identity-offboard", identity), follow=True)
    assert b"is already offboarded" in response.content


def test_an_owner_attests(alice, client_for, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    AIIdentity.objects.filter(pk=identity.pk).update(attestation_due="2020-01-01")
    response = client_for(alice).post(url("identity-attest", identity), {"note": "Still needed"}, follow=True)
    assert b"Attested" in response.content
    identity.refresh_from_db()
    assert identity.attestation_due.year > 2020
    assert identity.attestations.get().note == "Still needed"


def test_a_security_admin_cannot_attest_for_the_owners(alice, sam, client_for, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    assert client_for(sam).post(url("identity-attest", identity)).status_code == 403
    assert not identity.attestations.exists()


def test_it_refuses_to_attest_a_registered_identity(alice, client_for, make_identity):
    identity = make_identity(alice)
    response = client_for(alice).post(url("identity-attest", identity), follow=True)
    assert response.redirect_chain == [(url("identity-detail", identity), 302)]
    assert b"Only active or suspended identities are attested." in response.content
    assert not identity.attestations.exists()


def test_a_security_admin_acts_on_any_identity(alice, sam, client_for, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    client_for(sam).post(url("identity-suspend", identity), {"version": identity.version, "reason": "Exposure"})
    assert status_of(identity) == Status.SUSPENDED
    assert AuditEvent.objects.get(action="identity.suspend").actor_label == "sam"


@pytest.mark.parametrize("name", ALL_ACTIONS)
def test_it_hides_every_action_from_an_outsider(name, alice, charlie, client_for, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    data = {"version": identity.version, "reason": "x", "confirm_name": identity.name}
    assert client_for(charlie).post(url(name, identity), data).status_code == 404
    assert status_of(identity) == Status.ACTIVE


@pytest.mark.parametrize("persona", ["rita", "carol"])
@pytest.mark.parametrize("name", ALL_ACTIONS)
def test_it_forbids_read_only_roles_every_action(persona, name, request, alice, client_for, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    data = {"version": identity.version, "reason": "x", "confirm_name": identity.name}
    assert client_for(request.getfixturevalue(persona)).post(url(name, identity), data).status_code == 403
    assert status_of(identity) == Status.ACTIVE


def test_it_sends_anonymous_visitors_to_log_in(alice, client, make_identity):
    identity = make_identity(alice)
    assert client.post(url("identity-activate", identity)).status_code == 302
    assert status_of(identity) == Status.REGISTERED


def test_it_refuses_a_suspension_of_a_suspended_identity(alice, client_for, make_identity):
    identity = identity_suspend(actor=alice, identity=identity_activate(actor=alice, identity=make_identity(alice)), reason="x")
    response = client_for(alice).post(url("identity-suspend", identity), {"version": identity.version, "reason": "again"}, follow=True)
    assert response.redirect_chain == [(url("identity-detail", identity), 302)]
    assert b"Cannot suspend an identity that is suspended." in response.content
    assert AIIdentity.objects.get(pk=identity.pk).status_reason == "x"


def test_a_refused_action_still_shows_the_identitys_flags(alice, client_for, make_identity):
    identity = identity_activate(actor=alice, identity=make_identity(alice))
    AIIdentity.objects.filter(pk=identity.pk).update(attestation_due="2020-01-01")
    response = client_for(alice).post(url("identity-suspend", identity), {"version": identity.version, "reason": ""})
    assert response.status_code == 400
    assert b'<span class="badge badge-overdue"' in response.content
