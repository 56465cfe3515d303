"""An identity's allowed networks: set by its owners on the page and the API, kept as CIDRs."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from inventory.models import AIIdentity
from inventory.networks import allows
from inventory.services import identity_update
from nhiportal.audit.models import AuditEvent

from .test_views_edit import edit_data


def edit_url(identity):
    return reverse("inventory:identity-edit", args=[identity.pk])


def api_url(identity):
    return reverse("api:identity-detail", args=[identity.pk])


def test_it_saves_networks_from_the_edit_page_in_one_spelling(alice, client_for, make_identity):
    identity = make_identity(alice)
    typed = "10.20.0.0/16\n203.0.113.7, 2001:DB8:42::/48\n10.20.0.0/16"
    response = client_for(alice).post(edit_url(identity), edit_data(identity, allowed_networks=typed))
    assert response.status_code == 302
    identity.refresh_from_db()
    assert identity.allowed_networks == ["10.20.0.0/16", "203.0.113.7/32", "2001:db8:42::/48"]
    event = AuditEvent.objects.get(action="identity.update")
    assert event.before == {"allowed_networks": []}
    assert event.after == {"allowed_networks": ["10.20.0.0/16", "203.0.113.7/32", "2001:db8:42::/48"]}
    page = client_for(alice).get(reverse("inventory:identity-detail", args=[identity.pk])).content.decode()
    assert "<code>10.20.0.0/16</code>" in page


def test_it_shows_a_bad_network_next_to_the_field_and_saves_nothing(alice, client_for, make_identity):
    identity = make_identity(alice)
    response = client_for(alice).post(edit_url(identity), edit_data(identity, allowed_networks="10.20.0.1/16\nintranet"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "10.20.0.1/16 has host bits set: the network is 10.20.0.0/16." in html
    assert AIIdentity.objects.get(pk=identity.pk).allowed_networks == []
    assert not AuditEvent.objects.filter(action="identity.update").exists()


def test_the_edit_page_shows_the_networks_one_per_line(alice, client_for, make_identity):
    identity = make_identity(alice, allowed_networks=["10.20.0.0/16", "192.0.2.0/24"])
    body = client_for(alice).get(edit_url(identity)).content.decode()
    assert "10.20.0.0/16\n192.0.2.0/24</textarea>" in body


def test_the_api_sets_and_clears_networks_and_says_what_is_wrong(alice, client_for, make_identity):
    identity = make_identity(alice)
    api = client_for(alice)
    response = api.patch(api_url(identity), {"allowed_networks": ["10.0.0.0/8"], "version": 1}, content_type="application/json")
    assert response.status_code == 200 and response.json()["allowed_networks"] == ["10.0.0.0/8"]
    refused = api.patch(api_url(identity), {"allowed_networks": ["10.0.0.300/8"], "version": 2}, content_type="application/json")
    assert refused.status_code == 400
    assert "is not an IP network" in str(refused.json()["allowed_networks"])
    cleared = api.patch(api_url(identity), {"allowed_networks": [], "version": 2}, content_type="application/json")
    assert cleared.json()["allowed_networks"] == []


def test_an_outsider_can_neither_set_nor_read_them(alice, charlie, client_for, make_identity):
    identity = make_identity(alice, allowed_networks=["10.0.0.0/8"])
    outsider = client_for(charlie)
    assert outsider.patch(api_url(identity), {"allowed_networks": [], "version": 1}, content_type="application/json").status_code == 404
    assert outsider.get(api_url(identity)).status_code == 404
    assert outsider.post(edit_url(identity), edit_data(identity, allowed_networks="")).status_code == 404
    assert AIIdentity.objects.get(pk=identity.pk).allowed_networks == ["10.0.0.0/8"]


def test_the_service_refuses_too_many_or_malformed_networks(alice, make_identity):
    identity = make_identity(alice)
    with pytest.raises(ValidationError) as error:
        identity_update(actor=alice, identity=identity, expected_version=1, allowed_networks=[f"10.0.{i}.0/24" for i in range(51)])
    assert error.value.message_dict == {"allowed_networks": ["At most 50 networks."]}
    with pytest.raises(ValidationError):
        identity_update(actor=alice, identity=identity, expected_version=1, allowed_networks="10.0.0.0/8")


@pytest.mark.parametrize(
    ("address", "allowed"),
    [("10.20.3.4", True), ("10.21.0.1", False), ("::ffff:10.20.3.4", True), ("2001:db8:42::9", True), ("2001:db8:43::1", False), ("", False), ("junk", False)],
)
def test_it_matches_addresses_of_either_family(address, allowed):
    assert allows(("10.20.0.0/16", "2001:db8:42::/48"), address) is allowed


def test_no_networks_means_anywhere():
    assert allows((), "198.51.100.1") and allows([], "")
