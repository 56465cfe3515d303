"""Ids typed into URLs and forms: only ASCII digits are ids (never a 500 on "²")."""

import pytest

from nhiportal.ids import as_id


@pytest.mark.parametrize("value, expected", [("42", 42), ("0", 0), ("²", None), ("٣", None), ("-1", None), ("1e3", None), ("", None), (None, None), ("9" * 19, None)])
def test_only_plain_digits_are_ids(value, expected):
    assert as_id(value) == expected


def test_a_unicode_digit_in_a_service_parameter_is_no_500(client_for, alice, agent, crm):
    assert client_for(alice).get("/access-requests/new/?service=²").status_code == 200
    response = client_for(alice).post("/access-requests/new/", {"identity": str(agent.identity.pk), "service": "²"})
    assert response.status_code == 400


def test_a_unicode_digit_as_the_version_to_start_from_is_ignored(client_for, sam):
    assert client_for(sam).get("/policy/versions/new/?from=²").status_code == 200
