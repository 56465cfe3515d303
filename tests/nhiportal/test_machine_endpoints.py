"""Programs' endpoints skip the browser middleware but keep the security headers and the request id."""

import re

import pytest
from django.test import Client

from nhiportal import machine_endpoints
from nhiportal.machine_endpoints import MACHINE_PREFIXES
from tests.routes import all_routes


@pytest.mark.django_db
def test_oauth_endpoints_answer_without_browser_state(client):
    response = client.post("/oauth/token", {"grant_type": "password"})
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies
    assert "Content-Security-Policy" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware still runs
    assert response.headers["X-Request-ID"]


@pytest.mark.django_db
def test_healthz_and_discovery_take_the_short_path(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/.well-known/oauth-authorization-server").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/oauth/nothing-here", "/oauth/status/-1", "/.well-known/x", "/scim/v2/nothere", "/healthzx", "/metricsfoo"])
def test_an_unknown_machine_path_is_a_404_with_every_header_a_page_gets(client, path):
    for _ in range(2):  # and stays one: nothing remembered
        response = client.get(path)
        assert response.status_code == 404
        assert "Content-Security-Policy" in response.headers and response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_a_new_urlconf_is_followed_on_the_short_path(client, settings):
    assert client.get("/healthz").status_code == 200  # resolved, and remembered
    settings.ROOT_URLCONF = "tests.nhiportal.urls_other_health"
    assert client.get("/healthz").status_code == 204


@pytest.mark.django_db
def test_made_up_ids_do_not_crowd_the_token_endpoint_out_of_the_short_path(client, settings):
    settings.ROOT_URLCONF = settings.ROOT_URLCONF  # start with nothing remembered
    for n in range(machine_endpoints._RESOLVED_MAX + 1):  # anyone may send these: no sign-in needed
        client.get(f"/scim/v2/Users/made-up-{n}")
        client.get(f"/oauth/status/{n}")
    client.post("/oauth/token", {"grant_type": "password"})
    assert "/oauth/token" in machine_endpoints._resolved


@pytest.mark.django_db
def test_pages_still_get_the_browser_middleware(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert "Content-Security-Policy" in response.headers and response.headers["X-Frame-Options"] == "DENY"


def test_every_machine_endpoint_is_csrf_exempt_or_read_only():
    """Skipping CsrfViewMiddleware is safe only where the view never trusted a browser's cookies."""
    machine = [(route, view) for route, view in all_routes() if route.startswith(MACHINE_PREFIXES)]
    assert len(machine) >= 7
    client = Client(enforce_csrf_checks=True)
    for route, view in machine:
        if not getattr(view, "csrf_exempt", False):
            # A route with a parameter is posted to with one filled in, so it resolves.
            path = re.sub(r"<[^>]+>", "x", re.sub(r"<int:[^>]+>", "0", route))
            assert client.post(path).status_code == 405, route
