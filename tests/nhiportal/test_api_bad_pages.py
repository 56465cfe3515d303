"""A page number that is no page (0, past the last, not a number, empty) is a 400 on `page`, like
any filter value the API does not know; pages hold 50 rows, the last may be empty only when the
list is."""

import pytest

LIST = "/api/v1/identities/"


@pytest.mark.parametrize("page", ["0", "-1", "2", "999", "abc", ""])
def test_it_refuses_a_page_that_is_not_there_on_page(client_for, alice, make_identity, page):
    make_identity(alice)
    response = client_for(alice).get(LIST, {"page": page})
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["page"] and isinstance(response.json()["page"], list)


def test_the_first_page_of_an_empty_list_is_an_empty_page(client_for, charlie):
    response = client_for(charlie).get(LIST, {"page": "1"})
    assert response.status_code == 200 and response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_pages_hold_fifty_rows_and_the_last_one_is_a_page(client_for, alice, make_identity):
    for n in range(51):
        make_identity(alice, name=f"agent-{n:02}", credential=False)
    client = client_for(alice)
    first = client.get(LIST).json()
    assert len(first["results"]) == 50 and first["next"].endswith("page=2")
    second = client.get(LIST, {"page": "2"}).json()
    assert len(second["results"]) == 1 and second["next"] is None


def test_the_schema_documents_page_refusals_as_a_400(client_for, alice):
    described = client_for(alice).get("/api/schema/", {"format": "json"}).json()
    listing = described["paths"]["/api/v1/identities/"]["get"]
    assert "400" in listing["responses"]
    assert "page" in listing["responses"]["400"]["description"] and "past the last" not in listing["responses"]["404"]["description"]
