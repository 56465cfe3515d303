"""Once an identity is in service (activated, or granted access), the facts policy decides on
are no longer its owners' alone to loosen: autonomy, environment and trust boundary change by
a security admin; owners may still lower the sensitivity ceiling and narrow the networks."""

import pytest
from django.core.exceptions import ValidationError

from inventory.models import Sensitivity
from inventory.services import identity_activate, identity_update
from nhiportal.audit.models import AuditEvent

API = "/api/v1/identities/{}/"


@pytest.fixture
def active(alice, make_identity):
    return identity_activate(actor=alice, identity=make_identity(alice))


def patch(client, identity, **changes):
    return client.patch(API.format(identity.pk), {"version": identity.version, **changes}, content_type="application/json")


@pytest.mark.parametrize(
    "field, value",
    [("autonomy", "human_in_the_loop"), ("environment", "development"), ("trust_boundary", "finance-restricted"),
     ("sensitivity_ceiling", Sensitivity.RESTRICTED)],
)
def test_an_owner_cannot_loosen_what_policy_decides_on_once_the_identity_is_active(client_for, alice, active, field, value):
    response = patch(client_for(alice), active, **{field: value})
    assert response.status_code == 400 and "a security admin changes it" in response.json()[field][0]
    before = getattr(active, field)
    active.refresh_from_db()
    assert getattr(active, field) == before and active.version == 2  # as activation left it
    assert not AuditEvent.objects.filter(action="identity.update").exists()


def test_a_security_admin_changes_them(client_for, sam, active):
    response = patch(client_for(sam), active, autonomy="human_in_the_loop", sensitivity_ceiling=Sensitivity.RESTRICTED)
    assert response.status_code == 200, response.content
    active.refresh_from_db()
    assert (active.autonomy, active.sensitivity_ceiling) == ("human_in_the_loop", Sensitivity.RESTRICTED)


def test_an_owner_may_lower_the_ceiling(client_for, alice, active):
    assert patch(client_for(alice), active, sensitivity_ceiling=Sensitivity.INTERNAL).status_code == 200
    active.refresh_from_db()
    assert active.sensitivity_ceiling == Sensitivity.INTERNAL


def test_an_owner_may_narrow_the_networks_but_not_widen_or_clear_them(alice, sam, active):
    active = identity_update(actor=sam, identity=active, expected_version=active.version, allowed_networks=["10.20.0.0/16"])
    active = identity_update(actor=alice, identity=active, expected_version=active.version, allowed_networks=["10.20.5.0/24", "10.20.9.7"])
    assert active.allowed_networks == ["10.20.5.0/24", "10.20.9.7/32"]
    for wider in (["10.20.0.0/16"], ["10.20.5.0/24", "192.0.2.0/24"], []):
        with pytest.raises(ValidationError) as refused:
            identity_update(actor=alice, identity=active, expected_version=active.version, allowed_networks=wider)
        assert "You may narrow the allowed networks" in refused.value.message_dict["allowed_networks"][0]


def test_an_owner_may_first_restrict_an_identity_open_to_every_network(alice, active):
    active = identity_update(actor=alice, identity=active, expected_version=active.version, allowed_networks=["10.20.0.0/16"])
    assert active.allowed_networks == ["10.20.0.0/16"]


def test_a_registered_identity_without_access_is_its_owners_to_describe(alice, make_identity):
    identity = make_identity(alice)
    identity = identity_update(
        actor=alice, identity=identity, expected_version=1,
        autonomy="autonomous", environment="staging", trust_boundary="lab", sensitivity_ceiling=Sensitivity.RESTRICTED,
    )
    assert (identity.autonomy, identity.environment, identity.trust_boundary) == ("autonomous", "staging", "lab")


def test_the_other_fields_stay_the_owners_to_edit(client_for, alice, active):
    assert patch(client_for(alice), active, purpose="Triages alerts for on-call.").status_code == 200


def test_the_edit_page_shows_the_fixed_facts_as_fixed_and_the_refusal_next_to_the_field(client_for, alice, active):
    page = client_for(alice).get(f"/identities/{active.pk}/edit/")
    assert page.status_code == 200
    assert page.context["form"].fields["autonomy"].disabled and not page.context["form"].fields["sensitivity_ceiling"].disabled
    assert b"a security admin changes it now that the identity is in service" in page.content
    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(autonomy="human_in_the_loop", sensitivity_ceiling=Sensitivity.RESTRICTED, allowed_networks="")
    response = client_for(alice).post(f"/identities/{active.pk}/edit/", data)
    assert response.status_code == 400
    assert response.context["form"].errors == {"sensitivity_ceiling": [
        "You may lower the sensitivity ceiling; raising it: policy decides on it, so now that the identity is in service "
        "(active, or granted access) a security admin changes it."
    ]}
    active.refresh_from_db()
    assert (active.autonomy, active.sensitivity_ceiling) == ("supervised", Sensitivity.CONFIDENTIAL)


def test_an_owner_may_clear_the_ceiling_of_an_active_identity_through_the_api(client_for, alice, active):
    # Policy reads no ceiling as 0, the strictest: clearing it tightens, as lowering it does.
    response = patch(client_for(alice), active, sensitivity_ceiling=None)
    assert response.status_code == 200, response.content
    active.refresh_from_db()
    assert active.sensitivity_ceiling is None
    event = AuditEvent.objects.get(action="identity.update")
    assert (event.before, event.after) == ({"sensitivity_ceiling": Sensitivity.CONFIDENTIAL}, {"sensitivity_ceiling": None})
    # Setting one again raises it from nothing: a security admin's.
    refused = patch(client_for(alice), active, sensitivity_ceiling=Sensitivity.PUBLIC)
    assert refused.status_code == 400 and "raising it" in refused.json()["sensitivity_ceiling"][0]


def test_an_owner_may_clear_the_ceiling_on_the_edit_page(client_for, alice, active):
    client = client_for(alice)
    form = client.get(f"/identities/{active.pk}/edit/").context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(sensitivity_ceiling="", allowed_networks="")
    response = client.post(f"/identities/{active.pk}/edit/", data)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    active.refresh_from_db()
    assert active.sensitivity_ceiling is None and active.version == 3


def test_a_security_admin_clears_and_sets_the_ceiling(client_for, sam, active):
    assert patch(client_for(sam), active, sensitivity_ceiling=None).status_code == 200
    active.refresh_from_db()
    assert patch(client_for(sam), active, sensitivity_ceiling=Sensitivity.RESTRICTED).status_code == 200
