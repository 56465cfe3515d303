"""An empty value for a typed filter (a choice, an id, a number, a date, an instant) is a 400 on
the filter's name, like any value the API does not know, not a silent "no filter"; where the
description documents an empty value (a state's "blank: all"), it stays allowed. Free-text
filters (q, owner, actor ...) take an empty value as no filter. The pages keep their empty
form fields."""

import pytest

API = "/api/v1/"


@pytest.mark.parametrize("url, name", [
    ("claims/?view=", "view"),
    ("access-requests/?view=", "view"),
    ("attestations/?view=", "view"),
    ("attestations/?identity=", "identity"),
    ("grants/?identity=", "identity"),
    ("credentials/?identity=", "identity"),
    ("tasks/?identity=", "identity"),
    ("tasks/?open=", "open"),
    ("source-networks/?identity=", "identity"),
    ("source-networks/?new=", "new"),
    ("identities/?sensitivity=", "sensitivity"),
    ("identities/?kind=", "kind"),
    ("identities/?sort=", "sort"),
    ("audit-events/?until=", "until"),
    ("audit-events/?after=", "after"),
    ("audit-events/?identity=", "identity"),
    ("people/?role=", "role"),
])
def test_it_refuses_an_empty_typed_filter_on_its_name(client_for, sam, url, name):
    response = client_for(sam).get(API + url)
    assert response.status_code == 400, (url, response.content)
    assert list(response.json()) == [name], response.content


@pytest.mark.parametrize("url", [
    "grants/?state=", "exposures/?state=", "claims/?state=", "access-requests/?state=", "tasks/?approval=",
    "identities/?q=", "identities/?owner=", "audit-events/?actor=", "people/?q=",
])
def test_it_takes_an_empty_value_where_it_means_all(client_for, sam, url):
    assert client_for(sam).get(API + url).status_code == 200, url


def test_the_inventory_page_keeps_its_empty_form_fields(client_for, sam):
    assert client_for(sam).get("/identities/", {"kind": "", "sensitivity": "", "sort": "", "q": ""}).status_code == 200


def test_the_sensitivity_filter_is_described_as_integers_only(client_for, sam):
    described = client_for(sam).get("/api/schema/", {"format": "json"}).json()
    parameters = {p["name"]: p for p in described["paths"]["/api/v1/identities/"]["get"]["parameters"]}
    assert parameters["sensitivity"]["schema"]["type"] == "integer"
    assert parameters["sensitivity"]["schema"]["enum"] == [1, 2, 3, 4]
