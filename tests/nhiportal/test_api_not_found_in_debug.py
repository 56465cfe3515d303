"""A path under /api/ that names no endpoint is the API's JSON 404 whatever DEBUG says: the
development server's debug page would list every route to whoever asks."""

import pytest
from django.test import Client


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/v1/identities/not-a-uuid/", "/api/v2/identities/", "/api/"])
def test_it_answers_json_not_the_debug_page_under_debug(client_for, sam, settings, path):
    settings.DEBUG = True
    for client in (client_for(sam), Client()):
        response = client.get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", path
        assert response.json() == {"detail": "Not found."}
        assert b"urlpatterns" not in response.content and b"api/v1/" not in response.content


def test_real_endpoints_still_answer_under_debug(client_for, sam, settings):
    settings.DEBUG = True
    assert client_for(sam).get("/api/v1/identities/").status_code == 200
    assert client_for(sam).get("/api/schema/").status_code == 200
