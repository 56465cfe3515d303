"""Editing an identity's facts and its owners from the portal."""

import pytest
from django.urls import reverse

from inventory.models import AIIdentity
from inventory.services import identity_activate, identity_offboard, identity_update
from nhiportal.audit.models import AuditEvent


def url(name, identity):
    return reverse(f"inventory:{name}", args=[identity.pk])


def edit_data(identity, **overrides):
    data = {
        "name": identity.name,
        "kind": identity.kind,
        "purpose": identity.purpose,
        "environment": identity.environment,
        "trust_boundary": identity.trust_boundary,
        "autonomy": identity.autonomy,
        "sensitivity_ceiling": identity.sensitivity_ceiling,
        "offboarding_plan": identity.offboarding_plan,
        "version": identity.version,
    }
    data.update(overrides)
    return data


def test_it_shows_the_current_values_and_version(alice, client_for, make_identity):
    identity = make_identity(alice, trust_boundary="support-zone")
    body = client_for(alice).get(url("identity-edit", identity)).content.decode()
    assert 'value="support-zone"' in body
    assert f'<input type="hidden" name="version" value="{identity.version}"' in body


def test_it_saves_an_edit(alice, client_for, make_identity):
    identity = make_identity(alice)
    response = client_for(alice).post(url("identity-edit", identity), edit_data(identity, purpose="Triages alerts."), follow=True)
    assert response.redirect_chain == [(url("identity-detail", identity), 302)]
    assert b"Saved your changes" in response.content
    identity.refresh_from_db()
    assert (identity.purpose, identity.version) == ("Triages alerts.", 2)
    assert AuditEvent.objects.filter(action="identity.update").count() == 1


def test_it_refuses_a_stale_edit_says_what_differs_and_lets_her_replace_it_knowingly(alice, bob, client_for, make_identity):
    identity = make_identity(alice, backups=[bob])
    loaded = edit_data(identity, purpose="Alice's purpose.")
    identity_update(actor=bob, identity=identity, expected_version=identity.version, purpose="Bob's purpose.")
    response = client_for(alice).post(url("identity-edit", identity), loaded)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Someone saved this identity since you opened it. Its current values differ from yours in: purpose." in html
    assert "Alice&#x27;s purpose." in html  # what she typed is still there
    identity.refresh_from_db()
    assert identity.purpose == "Bob's purpose."
    assert AuditEvent.objects.filter(action="identity.update").count() == 1

    # The form now carries the current version: saving again replaces Bob's value, knowingly.
    assert f'name="version" value="{identity.version}"' in html
    again = client_for(alice).post(url("identity-edit", identity), {**loaded, "version": identity.version})
    assert again.status_code == 302
    identity.refresh_from_db()
    assert identity.purpose == "Alice's purpose."


def test_it_reports_a_missing_version_above_the_form(alice, client_for, make_identity):
    identity = make_identity(alice)
    data = edit_data(identity, purpose="New.")
    del data["version"]
    response = client_for(alice).post(url("identity-edit", identity), data)
    assert response.status_code == 400
    assert b"This page is out of date. Reload it and try again." in response.content


def test_it_shows_field_errors_next_to_the_field(alice, client_for, make_identity):
    identity = make_identity(alice)
    response = client_for(alice).post(url("identity-edit", identity), edit_data(identity, purpose="", kind="robot"))
    assert response.status_code == 400
    assert b'id="id_purpose_error"><p>This field is required.' in response.content
    assert b'id="id_kind_error"><p>Select a valid choice.' in response.content


def test_it_sets_the_owners(alice, bob, client_for, make_identity):
    identity = make_identity(alice)
    response = client_for(alice).post(
        url("identity-owners", identity),
        {"primary_owner": alice.pk, "backup_owners": [bob.pk], "version": identity.version},
        follow=True,
    )
    assert b"Updated the owners" in response.content
    assert dict(identity.ownerships.values_list("person__username", "role")) == {"alice": "primary", "bob": "backup"}
    assert client_for(bob).get(url("identity-detail", identity)).status_code == 200


def test_handing_an_identity_over_removes_the_old_owners_access(alice, bob, client_for, make_identity):
    identity = make_identity(alice)
    client = client_for(alice)
    response = client.post(url("identity-owners", identity), {"primary_owner": bob.pk, "version": identity.version})
    assert response["Location"] == reverse("inventory:identity-list")
    assert client.get(url("identity-detail", identity)).status_code == 404
    assert client.get(url("identity-edit", identity)).status_code == 404


def test_it_refuses_an_inactive_primary_owner(alice, bob, client_for, make_identity):
    identity = make_identity(alice, backups=[bob])
    bob.is_active = False
    bob.save()
    response = client_for(alice).post(url("identity-owners", identity), {"primary_owner": bob.pk, "version": identity.version})
    assert response.status_code == 400
    assert b'id="id_primary_owner_error"><p>Choose an active person as primary owner.' in response.content


def test_it_keeps_an_inactive_backup_choosable_so_saving_does_not_drop_it(alice, bob, client_for, make_identity):
    identity = make_identity(alice, backups=[bob])
    bob.is_active = False
    bob.save()
    form = client_for(alice).get(url("identity-owners", identity)).context["form"]
    assert "bob, inactive" in [label for _, label in form.fields["backup_owners"].choices]
    assert form.initial["backup_owners"] == [bob.pk]


def test_it_sends_people_away_from_editing_an_offboarded_identity(alice, client_for, make_identity):
    identity = identity_offboard(actor=alice, identity=make_identity(alice), reason="Done")
    for name in ["identity-edit", "identity-owners"]:
        response = client_for(alice).get(url(name, identity), follow=True)
        assert response.redirect_chain == [(url("identity-detail", identity), 302)]
        assert b"is offboarded; its record is kept as it was." in response.content


@pytest.mark.parametrize("name", ["identity-edit", "identity-owners"])
def test_it_hides_the_edit_pages_from_an_outsider(name, alice, charlie, client_for, make_identity):
    identity = make_identity(alice)
    client = client_for(charlie)
    assert client.get(url(name, identity)).status_code == 404
    assert client.post(url(name, identity), {"primary_owner": charlie.pk, "version": 1}).status_code == 404
    assert identity.ownerships.count() == 1


@pytest.mark.parametrize("persona", ["rita", "carol"])
@pytest.mark.parametrize("name", ["identity-edit", "identity-owners"])
def test_it_forbids_read_only_roles_the_edit_pages(persona, name, request, alice, client_for, make_identity):
    identity = make_identity(alice)
    assert client_for(request.getfixturevalue(persona)).get(url(name, identity)).status_code == 403


def test_a_security_admin_edits_the_attestation_interval(sam, alice, client_for, make_identity):
    identity = make_identity(alice)
    client_for(sam).post(url("identity-edit", identity), edit_data(identity, attestation_interval_days=30))
    assert AIIdentity.objects.get(pk=identity.pk).attestation_interval_days == 30
    response = client_for(sam).post(url("identity-edit", identity), edit_data(identity, version=2, attestation_interval_days=400))
    assert b"Ensure this value is less than or equal to 365." in response.content


def test_a_security_admin_sets_the_token_rate_limit_and_owners_read_it(sam, alice, client_for, make_identity):
    identity = make_identity(alice)
    page = client_for(alice).get(url("identity-detail", identity)).content.decode()
    assert "600 a minute" in page and "(the portal's default)" in page
    edit = edit_data(identity, attestation_interval_days=identity.attestation_interval_days, token_rate_per_minute=120)
    assert client_for(sam).post(url("identity-edit", identity), edit).status_code == 302
    assert AIIdentity.objects.get(pk=identity.pk).token_rate_per_minute == 120
    page = client_for(alice).get(url("identity-detail", identity)).content.decode()
    assert "120 a minute" in page and "portal's default" not in page
    refused = client_for(sam).post(url("identity-edit", identity), {**edit, "version": 2, "token_rate_per_minute": 0})
    assert refused.status_code == 400 and b"Ensure this value is greater than or equal to 1." in refused.content


def test_an_owner_cannot_change_the_token_rate_limit(sam, alice, client_for, make_identity):
    identity = make_identity(alice)
    assert b"token_rate_per_minute" not in client_for(alice).get(url("identity-edit", identity)).content
    assert b"token_rate_per_minute" in client_for(sam).get(url("identity-edit", identity)).content
    client_for(alice).post(url("identity-edit", identity), edit_data(identity, purpose="Changed.", token_rate_per_minute=100_000))
    identity.refresh_from_db()
    assert identity.purpose == "Changed." and identity.token_rate_per_minute is None


def _edit_form_data(client, identity):
    form = client.get(url("identity-edit", identity)).context["form"]
    return {name: form[name].value() for name in form.fields if form[name].value() is not None}


def test_widening_the_networks_of_an_identity_in_service_is_refused_plainly_naming_whom_to_ask(alice, sam, client_for, make_identity):
    sam.first_name, sam.last_name = "Sam", "Haddad"
    sam.save()
    identity = make_identity(alice, allowed_networks=["10.20.0.0/16"])
    identity = identity_activate(actor=alice, identity=identity)
    client = client_for(alice)
    response = client.post(url("identity-edit", identity), {**_edit_form_data(client, identity), "allowed_networks": "10.0.0.0/8"})
    assert response.status_code == 400
    error = response.content.decode().split('id="id_allowed_networks_error">', 1)[1].split("</div>", 1)[0]
    assert error == (
        f"<p>You can narrow the allowed networks but not widen or clear them, because {identity.name} is in service: "
        "policy already decides its tokens on the networks it has now (10.20.0.0/16). Keep only networks inside those. "
        'To widen or clear them, ask a security admin: <a href="mailto:sam@example.com">Sam Haddad</a>.</p>'
    )
    assert "policy decides on it, so now that" not in response.content.decode()
    assert AIIdentity.objects.get(pk=identity.pk).allowed_networks == ["10.20.0.0/16"]
    # Narrowing stays the owner's.
    narrowed = client.post(url("identity-edit", identity), {**_edit_form_data(client, identity), "allowed_networks": "10.20.5.0/24"})
    assert narrowed.status_code == 302


def test_whom_to_ask_links_the_list_of_security_admins_only_for_those_who_may_open_it(alice, rita, sam):
    from inventory.owner_roles import ask_a_security_admin

    assert '(<a href="/users/?role=security_admin">all security admins</a>)' in ask_a_security_admin(rita, to="widen them")
    assert "/users/" not in ask_a_security_admin(alice, to="widen them")  # owners cannot open the people pages
