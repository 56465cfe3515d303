"""Refusals and missing pages keep the portal's layout, and say nothing about what is hidden."""

import re

from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error


def without_form_tokens(response) -> str:
    """The page minus its CSRF tokens, which are masked afresh on every response."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def test_a_refused_page_keeps_the_navigation_and_says_why(alice, client_for):
    response = client_for(alice).get(reverse("audit:event-list"))
    assert response.status_code == 403
    html = response.content.decode()
    assert 'aria-label="Main"' in html and "This page is not open to your role" in html


def test_a_missing_or_hidden_identity_looks_the_same(alice, bob, client_for, make_identity):
    hidden = make_identity(bob, name="secret-project-agent")
    seen_by_alice = client_for(alice).get(reverse("inventory:identity-detail", args=[hidden.pk]))
    missing = client_for(alice).get("/identities/00000000-0000-0000-0000-000000000000/")
    assert seen_by_alice.status_code == missing.status_code == 404
    assert without_form_tokens(seen_by_alice) == without_form_tokens(missing)
    assert "Nothing here" in missing.content.decode() and "secret-project-agent" not in seen_by_alice.content.decode()


def test_anonymous_visitors_get_the_bare_layout(db):
    response = Client().get("/no-such-page/")
    assert response.status_code == 404 and "Nothing here" in response.content.decode()


def test_a_form_sent_without_its_token_is_explained(sam):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sam)
    response = client.post(reverse("tokens:emergency-revoke"), {"reason": "x"})
    assert response.status_code == 403 and "That form could not be accepted" in response.content.decode()


def test_a_server_error_page_needs_nothing_from_the_request(db):
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500 and "nothing was changed" in response.content.decode()


def test_owners_are_not_offered_the_audit_log(alice, carol, client_for):
    assert 'href="/audit/"' not in client_for(alice).get("/").content.decode()
    assert 'href="/audit/"' in client_for(carol).get("/").content.decode()
