"""Forms that name people render a picker of the people chosen, not a list of everyone."""

import pytest
from django.urls import reverse

from inventory.models import OwnerRole
from tests.conftest import _person

pytestmark = pytest.mark.django_db


def _owners_url(identity):
    return reverse("inventory:identity-owners", args=[identity.pk])


def test_the_owners_page_shows_the_owners_and_not_the_directory(client_for, alice, bob, make_identity):
    _person("grace")
    identity = make_identity(alice, backups=[bob])
    html = client_for(alice).get(_owners_url(identity)).content.decode()
    assert f'<input type="hidden" name="primary_owner" value="{alice.pk}">' in html
    assert f'<input type="hidden" name="backup_owners" value="{bob.pk}">' in html
    assert 'aria-label="Remove bob"' in html
    assert "grace" not in html  # nobody else's name travels with the form
    # It asks the directory of those who may own, not of everyone.
    assert 'data-search-url="/people/owners/"' in html


def test_a_refused_form_keeps_the_people_chosen_and_says_what_was_wrong(client_for, alice, bob, make_identity):
    identity = make_identity(alice)
    response = client_for(alice).post(
        _owners_url(identity),
        {"version": identity.version, "primary_owner": alice.pk, "backup_owners": [bob.pk, 999999]},
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "backup_owners" in form.errors and "999999" in form.errors["backup_owners"][0]
    html = response.content.decode()
    assert f'<input type="hidden" name="backup_owners" value="{bob.pk}">' in html
    assert 'value="999999"' not in html
    assert [o.person for o in identity.ownerships.all()] == [alice]


@pytest.mark.parametrize("key", ["<b>x", "²", "9" * 30])
def test_a_key_that_is_not_an_id_is_a_field_error(client_for, alice, make_identity, key):
    identity = make_identity(alice)
    response = client_for(alice).post(
        _owners_url(identity), {"version": identity.version, "primary_owner": key, "backup_owners": [key]}
    )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"primary_owner", "backup_owners"}
    assert f'value="{key}"' not in response.content.decode()


def test_removing_every_backup_posts_none_and_keeps_the_primary(client_for, alice, bob, make_identity):
    identity = make_identity(alice, backups=[bob])
    response = client_for(alice).post(_owners_url(identity), {"version": identity.version, "primary_owner": alice.pk})
    assert response.status_code == 302
    assert {(o.person.username, o.role) for o in identity.ownerships.select_related("person")} == {
        ("alice", OwnerRole.PRIMARY)
    }


def test_an_owner_registering_sees_themself_as_the_fixed_primary_owner(client_for, alice):
    html = client_for(alice).get(reverse("inventory:identity-register")).content.decode()
    primary = html[html.index('id="field-id_primary_owner"'):html.index('id="field-id_backup_owners"')]
    assert f'name="primary_owner" value="{alice.pk}"' in primary
    assert "chip-remove" not in primary and "picker-input" not in primary


def test_the_service_form_names_its_owner_with_a_picker(client_for, sam):
    html = client_for(sam).get(reverse("tokens:service-create")).content.decode()
    assert 'data-name="owner"' in html and "<select name=\"owner\"" not in html
