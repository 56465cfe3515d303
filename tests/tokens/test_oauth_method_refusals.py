"""The OAuth discovery endpoints refuse other methods in JSON, like the token endpoint; the
status list aggregation may be cached briefly, like the lists it names."""

from django.test import Client


def test_it_refuses_a_post_to_the_jwks_and_the_metadata_with_a_json_405(db):
    for path in ["/oauth/jwks.json", "/.well-known/oauth-authorization-server", "/oauth/status", "/oauth/status/0"]:
        response = Client().post(path)
        assert response.status_code == 405, path
        assert response["Content-Type"] == "application/json", path
        assert response.json()["error"] == "invalid_request" and response.json()["error_description"], path
        assert "GET" in response["Allow"], path


def test_the_status_list_aggregation_may_be_cached_as_long_as_the_lists(db, settings):
    settings.NHI = {**settings.NHI, "STATUS_LIST_TTL": 30}
    response = Client().get("/oauth/status")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=30"
