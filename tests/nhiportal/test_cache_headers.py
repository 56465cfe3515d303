"""What a signed-in person sees sits in no cache: pages, API answers and exports say no-store, so
neither a shared proxy nor the browser's back/forward cache keeps inventory data. Public
documents programs fetch keep the max-age they chose; static files and probes are left alone."""

import pytest
from django.test import Client

from nhiportal.people.models import TokenPurpose
from nhiportal.people.services import api_token_create

pytestmark = pytest.mark.django_db


def kept_by_no_cache(response) -> bool:
    directives = {d.strip() for d in response.headers.get("Cache-Control", "").split(",")}
    return {"no-store", "private"} <= directives and "Expires" in response.headers


def test_a_signed_in_page_is_kept_by_no_cache(alice, client_for, make_identity):
    identity = make_identity(alice, name="support-copilot")
    client = client_for(alice)
    for path in ("/", "/identities/", f"/identities/{identity.pk}/"):
        response = client.get(path)
        assert response.status_code == 200 and kept_by_no_cache(response), path


def test_csv_and_json_exports_are_kept_by_no_cache(alice, sam, client_for, make_identity):
    make_identity(alice, name="support-copilot")
    export = client_for(alice).get("/identities/export.csv")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv") and kept_by_no_cache(export)
    audit = client_for(sam).get("/audit/export.jsonl")
    assert audit.status_code == 200 and kept_by_no_cache(audit)


def test_api_answers_are_kept_by_no_cache_with_a_token_a_session_or_neither(alice, client_for, make_identity):
    make_identity(alice, name="support-copilot")
    _, raw = api_token_create(user=alice, name="script", days=1)
    with_token = Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/identities/")
    assert with_token.status_code == 200 and with_token.json()["results"] and kept_by_no_cache(with_token)
    with_session = client_for(alice).get("/api/v1/identities/")
    assert with_session.status_code == 200 and kept_by_no_cache(with_session)
    refused = Client().get("/api/v1/identities/")
    assert refused.status_code in (401, 403) and kept_by_no_cache(refused)


def test_the_directory_sync_answers_are_kept_by_no_cache(sam):
    # SCIM skips the browser middleware (machine_endpoints.py) but still names people.
    _, raw = api_token_create(user=sam, name="okta", days=30, purpose=TokenPurpose.DIRECTORY_SYNC)
    response = Client(headers={"Authorization": f"Bearer {raw}"}).get("/scim/v2/Users")
    assert response.status_code == 200 and kept_by_no_cache(response)


def test_public_oauth_documents_keep_their_max_age_even_for_a_signed_in_browser(alice, client_for):
    for client in (Client(), client_for(alice)):
        for path in ("/oauth/jwks.json", "/.well-known/oauth-authorization-server"):
            response = client.get(path)
            assert response.status_code == 200 and response["Cache-Control"].startswith("public, max-age="), path
            assert "no-store" not in response["Cache-Control"] and "Expires" not in response.headers, path


def test_probes_and_static_files_are_left_alone(alice, client_for, settings):
    settings.NHI = {**settings.NHI, "METRICS_TOKEN": "scrape-token-for-the-tests"}
    assert "Cache-Control" not in client_for(alice).get("/healthz").headers
    scraped = Client(headers={"Authorization": "Bearer scrape-token-for-the-tests"}).get("/metrics")
    assert scraped.status_code == 200 and "Cache-Control" not in scraped.headers
    static = client_for(alice).get("/static/css/portal.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")
