"""What a client can make the portal log at will is one WARNING line, never an ERROR or a traceback."""

import io
import logging

import pytest


@pytest.fixture
def logged():
    """The lines the portal's log handler (settings.LOGGING's console, its only one) writes."""
    console = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    lines = io.StringIO()
    before = console.setStream(lines)
    yield lines.getvalue
    console.setStream(before)


def test_a_request_for_a_host_the_portal_does_not_serve_is_one_warning_line(client, logged):
    response = client.get("/", HTTP_HOST="evil.example.com")

    assert response.status_code == 400
    log = logged()
    assert "WARNING django.security.DisallowedHost" in log
    assert "ERROR" not in log and "Traceback" not in log


def test_a_forbidden_page_is_logged_without_a_traceback(client_for, alice, logged):
    response = client_for(alice).get("/audit/")

    assert response.status_code == 403
    log = logged()
    assert "WARNING django.request Forbidden" in log
    assert "Traceback" not in log
